import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchmarkInput } from '../activities/types';
import { TempestInputError } from '../core/errors';
import { redactText } from '../core/redact';
import { SpecError } from '../spec';
import { openApiDocument } from './openapi';
import { ApiError, type FileKind, type RunService } from './runs';
import type { Problem } from './schemas';

const LOOPBACK = '127.0.0.1';
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface ApiServerOptions {
  readonly runs: RunService;
  /** Bearer token every route but /openapi.json requires. */
  readonly token: string;
  /** Full checks of a submitted spec (schema, modules, parameters), as `tempest run` does them. */
  readonly checkSpec: (text: string, format: 'json' | 'yaml') => Promise<BenchmarkInput>;
  readonly maxBodyBytes?: number;
  /** Default 8787; 0: any free port. */
  readonly port?: number;
  /** One line per request: method, path, status, time. Never headers (the token) or bodies. */
  readonly log?: (line: string) => void;
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body: string | Buffer;
  readonly contentType: string;
}

const jsonReply = (status: number, value: unknown): Reply => ({
  status,
  body: `${JSON.stringify(value, null, 2)}\n`,
  contentType: 'application/json; charset=utf-8',
});

const digest = (text: string) => createHash('sha256').update(text).digest();

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

/** The spec's format from Content-Type; none at all is read as YAML, which JSON also is. */
function specFormat(contentType: string | undefined): 'json' | 'yaml' {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === '' || YAML_TYPES.has(type)) return 'yaml';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  throw new ApiError(
    415,
    `Content-Type ${type} is not a spec format: send application/json or application/yaml`,
  );
}

/**
 * Read the body up to `limit` bytes. A declared Content-Length over the limit is refused before
 * any byte is read; a chunked body is refused as soon as it passes the limit.
 */
async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () =>
    new ApiError(413, `request body over ${limit} bytes; the server's limit is set with --max-body-bytes`);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Messages of module and parameter checks start with the field path, e.g. `perturbations[0].module: ...`. */
function problemOf(error: TempestInputError): Problem {
  const match = /^([A-Za-z_][\w.[\]]*): ([\s\S]*)$/.exec(error.message);
  return match ? { path: match[1], message: match[2] } : { path: '(document)', message: error.message };
}

async function submit(request: IncomingMessage, options: ApiServerOptions, limit: number): Promise<Reply> {
  const format = specFormat(request.headers['content-type']);
  const text = await readBody(request, limit);
  if (format === 'json') {
    // YAML would read most JSON too; JSON.parse gives the error a JSON client expects.
    try {
      JSON.parse(text);
    } catch (error) {
      return jsonReply(400, {
        error: 'the body is not valid JSON',
        problems: [{ path: '(syntax)', message: (error as Error).message }],
      });
    }
  }
  let input: BenchmarkInput;
  try {
    input = await options.checkSpec(text, format);
  } catch (error) {
    if (error instanceof SpecError) {
      return jsonReply(400, { error: 'invalid benchmark spec', problems: error.problems });
    }
    if (error instanceof TempestInputError) {
      return jsonReply(400, { error: 'invalid benchmark spec', problems: [problemOf(error)] });
    }
    throw error;
  }
  const created = await options.runs.start(input);
  return jsonReply(created.attached ? 200 : 201, created);
}

const FILE_TYPES: Record<FileKind, string> = {
  results: 'application/json; charset=utf-8',
  report: 'text/markdown; charset=utf-8',
  reportHtml: 'text/html; charset=utf-8',
  provenance: 'application/json; charset=utf-8',
};

async function fileReply(runs: RunService, id: string, kind: FileKind): Promise<Reply> {
  const path = await runs.file(id, kind);
  return { status: 200, body: await readFile(path), contentType: FILE_TYPES[kind] };
}

/**
 * `tempest serve`'s HTTP API on 127.0.0.1. Routes are few and fixed, so they are matched here
 * rather than through a framework; Node's http module is all it needs.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const expected = digest(options.token);
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log ?? (() => undefined);
  const openApi = JSON.stringify(openApiDocument(), null, 2);
  const { runs } = options;

  const authorized = (request: IncomingMessage): boolean => {
    // The scheme name is case-insensitive (RFC 9110); the token is compared through fixed-length
    // digests, in constant time.
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };

  const route = async (request: IncomingMessage, url: URL): Promise<Reply> => {
    const method = request.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/openapi.json' && method === 'GET') {
      return { status: 200, body: openApi, contentType: 'application/json; charset=utf-8' };
    }
    if (!authorized(request)) {
      throw new ApiError(401, 'a valid bearer token is required: Authorization: Bearer <token>');
    }
    if (path === '/v1/benchmarks') {
      if (method !== 'POST') throw new ApiError(405, 'use POST /v1/benchmarks with a spec as the body');
      return submit(request, options, limit);
    }
    if (path === '/v1/runs') {
      if (method !== 'GET') throw new ApiError(405, 'use GET /v1/runs');
      return jsonReply(200, { runs: await runs.list() });
    }
    const match = /^\/v1\/runs\/([^/]+)(?:\/(results|report|provenance|cancel|pause|resume))?$/.exec(path);
    if (!match) throw new ApiError(404, `no route ${path}; GET /openapi.json lists the routes`);
    const id = decodeURIComponent(match[1]);
    const action = match[2];
    if (action === 'cancel' || action === 'pause' || action === 'resume') {
      if (method !== 'POST') throw new ApiError(405, `use POST ${path}`);
      return jsonReply(202, await runs.signal(id, action));
    }
    if (method !== 'GET') throw new ApiError(405, `use GET ${path}`);
    switch (action) {
      case undefined:
        return jsonReply(200, await runs.status(id));
      case 'results':
        return fileReply(runs, id, 'results');
      case 'provenance':
        return fileReply(runs, id, 'provenance');
      case 'report': {
        const format = url.searchParams.get('format') ?? 'md';
        if (format !== 'md' && format !== 'html') throw new ApiError(400, 'format must be md or html');
        return fileReply(runs, id, format === 'html' ? 'reportHtml' : 'report');
      }
      default:
        throw new ApiError(404, `no route ${path}`);
    }
  };

  const server = createServer((request, response) => {
    const started = Date.now();
    const url = new URL(request.url ?? '/', `http://${LOOPBACK}`);
    const send = (reply: Reply) => {
      response.statusCode = reply.status;
      response.setHeader('Content-Type', reply.contentType);
      if (reply.status === 401) response.setHeader('WWW-Authenticate', 'Bearer');
      if (reply.status === 413) {
        // The rest of the body is not wanted: close the connection instead of draining it.
        response.setHeader('Connection', 'close');
        response.once('finish', () => setTimeout(() => request.destroy(), 200).unref());
      }
      response.end(reply.body);
      // The path only: no query string, headers or body, so no token or spec content is logged.
      log(`${request.method} ${url.pathname} ${reply.status} ${Date.now() - started} ms`);
    };
    route(request, url).then(send, (error: unknown) => {
      if (error instanceof ApiError) {
        send(jsonReply(error.status, { error: error.message }));
        return;
      }
      log(`${request.method} ${url.pathname} failed: ${redactText((error as Error).message)}`);
      send(jsonReply(500, { error: `internal error: ${redactText((error as Error).message)}` }));
    });
  });
  server.listen(options.port ?? 8787, LOOPBACK);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
