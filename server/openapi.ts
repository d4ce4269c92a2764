import { z } from 'zod';
import { packageVersionOfTempest } from '../core/package-root';
import { BenchmarkSpecV1, BenchmarkSpecV2 } from '../spec';
import { ErrorBody, RunCreated, RunList, RunStatus, SignalAccepted } from './schemas';

type JsonObject = Record<string, unknown>;

/**
 * A zod schema as an OpenAPI 3.1 schema object. OpenAPI 3.1 uses JSON Schema 2020-12 as its
 * default dialect, so the `$schema` key is dropped; `io: 'input'` describes what a client may
 * send (fields with defaults are optional); refinements zod cannot express become `{}`.
 */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonObject;
  delete json.$schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const error = (description: string) => ({ description, content: json('Error') });

const unauthorized = error('No or wrong bearer token');
const notFound = error('No benchmark run with this id');
const runIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The run id returned by POST /v1/benchmarks (a workflow id names its latest run)',
  schema: { type: 'string' },
};

function fileRoute(summary: string, content: JsonObject, extra: JsonObject = {}): JsonObject {
  return {
    get: {
      summary,
      parameters: [runIdParameter, ...((extra.parameters as unknown[]) ?? [])],
      responses: {
        '200': { description: summary, content },
        '401': unauthorized,
        '404': error('No such run, or the finished run has no such file (e.g. cancelled before results)'),
        '409': error('The run has not finished yet (or failed): nothing to serve'),
      },
    },
  };
}

function signalRoute(signal: 'cancel' | 'pause' | 'resume', summary: string): JsonObject {
  return {
    post: {
      summary,
      parameters: [runIdParameter],
      responses: {
        '202': { description: `The ${signal} signal was sent`, content: json('SignalAccepted') },
        '401': unauthorized,
        '404': notFound,
        '409': error('The run is not running any more'),
      },
    },
  };
}

/** The OpenAPI 3.1 document of `tempest serve`, built from the spec's and the API's zod schemas. */
export function openApiDocument(): JsonObject {
  const specBody = { oneOf: [ref('BenchmarkSpecV2'), ref('BenchmarkSpecV1')] };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tempest API',
      version: packageVersionOfTempest(),
      description:
        'Start robustness benchmarks of ONNX models as durable Temporal workflows, follow them, and ' +
        'fetch their results, report and provenance. Every route except this document needs the bearer token.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths: {
      '/v1/benchmarks': {
        post: {
          summary: 'Start a benchmark from a spec (the same checks as `tempest run`)',
          requestBody: {
            required: true,
            description:
              'A benchmark spec as JSON, or as YAML with Content-Type application/yaml. Relative model ' +
              "and module paths are resolved against the server's --specs-dir.",
            content: {
              'application/json': { schema: specBody },
              'application/yaml': { schema: specBody },
            },
          },
          responses: {
            '201': { description: 'The benchmark was started', content: json('RunCreated') },
            '200': {
              description: 'The same benchmark was already running: attached to it',
              content: json('RunCreated'),
            },
            '400': error('The spec is invalid; `problems` lists each field path and message'),
            '401': unauthorized,
            '413': error('The body is larger than the server accepts (--max-body-bytes)'),
            '415': error('Content-Type is neither JSON nor YAML'),
          },
        },
      },
      '/v1/runs': {
        get: {
          summary: 'Benchmark runs: those started through this server and those on the Temporal server',
          responses: {
            '200': { description: 'Runs, newest first', content: json('RunList') },
            '401': unauthorized,
          },
        },
      },
      '/v1/runs/{id}': {
        get: {
          summary: 'Status of a run, with live progress while it runs',
          parameters: [runIdParameter],
          responses: {
            '200': { description: 'The run', content: json('RunStatus') },
            '401': unauthorized,
            '404': notFound,
          },
        },
      },
      '/v1/runs/{id}/results': fileRoute('results.json of a finished run', {
        'application/json': { schema: { type: 'object' } },
      }),
      '/v1/runs/{id}/report': fileRoute(
        'The report of a finished run: Markdown, or HTML with ?format=html',
        { 'text/markdown': { schema: { type: 'string' } }, 'text/html': { schema: { type: 'string' } } },
        {
          parameters: [
            {
              name: 'format',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['md', 'html'] },
            },
          ],
        },
      ),
      '/v1/runs/{id}/provenance': fileRoute('The W3C PROV-JSON document of a finished run', {
        'application/json': { schema: { type: 'object' } },
      }),
      '/v1/runs/{id}/cancel': signalRoute(
        'cancel',
        'Stop scheduling cells; running cells finish and stay cached for a later run',
      ),
      '/v1/runs/{id}/pause': signalRoute('pause', 'Pause scheduling new cells'),
      '/v1/runs/{id}/resume': signalRoute('resume', 'Resume a paused run'),
      '/openapi.json': {
        get: {
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'The token from `tempest serve --token-file` or TEMPEST_API_TOKEN',
        },
      },
      schemas: {
        BenchmarkSpecV2: schemaOf(BenchmarkSpecV2, 'input'),
        BenchmarkSpecV1: schemaOf(BenchmarkSpecV1, 'input'),
        RunCreated: schemaOf(RunCreated, 'output'),
        RunList: schemaOf(RunList, 'output'),
        RunStatus: schemaOf(RunStatus, 'output'),
        SignalAccepted: schemaOf(SignalAccepted, 'output'),
        Error: schemaOf(ErrorBody, 'output'),
      },
    },
  };
}
