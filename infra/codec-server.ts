import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

const LOOPBACK = '127.0.0.1';
/** Payloads are at most 2 MiB each on the server; a UI page decodes a few dozen at once. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface CodecServerOptions {
  readonly codec: PayloadCodec;
  /** Bearer token every encode/decode request must carry. */
  readonly token: string;
  /** Browser origins allowed to call the server (the Temporal Web UI's). */
  readonly origins: readonly string[];
  /** Default 0: any free port. */
  readonly port?: number;
  /** One line per request (method, route, status), never bodies or tokens. */
  readonly log?: (line: string) => void;
}

export interface CodecServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A payload in the codec server protocol: proto JSON, so metadata values and data are base64. */
export interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function payloadFromJson(json: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(json.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(json.data ?? '', 'base64'),
  };
}

export function payloadToJson(payload: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([name, value]) => [
        name,
        Buffer.from(value ?? []).toString('base64'),
      ]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  };
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The token comes as `Authorization: Bearer <token>` (the `temporal` CLI's --codec-auth), or as
 * the first path segment, `/<token>/decode`, for the Web UI, which sends no Authorization header
 * unless it runs with single sign-on. Compared through fixed-length digests in constant time.
 */
function presentedToken(request: IncomingMessage, route: { prefix: string }): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const segment = route.prefix.replace(/^\/+|\/+$/g, '');
  return segment ? decodeURIComponent(segment) : undefined;
}

function parseRoute(url: string | undefined): { prefix: string; action?: 'encode' | 'decode' } {
  const path = (url ?? '/').split('?')[0];
  const match = /^(.*)\/(encode|decode)\/?$/.exec(path);
  return match ? { prefix: match[1], action: match[2] as 'encode' | 'decode' } : { prefix: path };
}

async function readJsonBody(request: IncomingMessage): Promise<{ payloads: JsonPayload[] }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body must be JSON: {"payloads": [{"metadata": {...}, "data": "<base64>"}]}');
  }
  const payloads = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new HttpError(400, 'body must have a "payloads" array');
  return { payloads: payloads as JsonPayload[] };
}

/**
 * The HTTP endpoint the Temporal Web UI and CLI call to show payloads in clear: `POST /encode` and
 * `POST /decode` with `{payloads: [...]}`. Listens on 127.0.0.1 only; every call needs the bearer
 * token, so only people who hold it see decoded payloads.
 */
export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const expected = digest(options.token);
  const log = options.log ?? (() => undefined);

  const setCors = (request: IncomingMessage, response: ServerResponse) => {
    const origin = request.headers.origin;
    if (!origin || !options.origins.includes(origin)) return;
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Vary', 'Origin');
    response.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    response.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
    response.setHeader('Access-Control-Allow-Credentials', 'true');
    response.setHeader('Access-Control-Max-Age', '600');
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<number> => {
    setCors(request, response);
    const route = parseRoute(request.url);
    // Browsers send preflights without credentials: answer them, the real request is checked.
    if (request.method === 'OPTIONS') return 204;
    if (!route.action) throw new HttpError(404, 'not found: POST /encode or /decode');
    if (request.method !== 'POST') throw new HttpError(405, 'use POST');
    const token = presentedToken(request, route);
    if (token === undefined || !timingSafeEqual(digest(token), expected)) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, 'a valid bearer token is required');
    }
    const { payloads } = await readJsonBody(request);
    let result: Payload[];
    try {
      const input = payloads.map(payloadFromJson);
      result =
        route.action === 'encode' ? await options.codec.encode(input) : await options.codec.decode(input);
    } catch (error) {
      throw new HttpError(422, (error as Error).message);
    }
    response.setHeader('Content-Type', 'application/json');
    response.end(JSON.stringify({ payloads: result.map(payloadToJson) }));
    return 200;
  };

  const server = createServer((request, response) => {
    const route = parseRoute(request.url);
    const label = `${request.method ?? '?'} ${route.action ? `/${route.action}` : '(other)'}`;
    handle(request, response)
      .then((status) => {
        if (status !== 200) {
          response.statusCode = status;
          response.end();
        }
        log(`${label} ${status}`);
      })
      .catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        response.statusCode = status;
        response.setHeader('Content-Type', 'application/json');
        response.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
        log(`${label} ${status}`);
      });
  });
  server.listen(options.port ?? 0, LOOPBACK);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
