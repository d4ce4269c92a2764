import { z } from 'zod';

/**
 * The shapes the HTTP API answers with. They are zod schemas rather than bare interfaces so the
 * OpenAPI document (server/openapi.ts) is generated from the same definitions the code is typed by.
 */

export const Problem = z.object({
  path: z.string().describe('Field path in the spec, e.g. `execution.batchSize`, or `(document)`'),
  message: z.string(),
});

export const ErrorBody = z.object({
  error: z.string().describe('What went wrong and what to do about it'),
  problems: z.array(Problem).optional().describe('Every problem found in a spec, with its field path'),
});

export const RunLinks = z.object({
  self: z.string(),
  results: z.string(),
  report: z.string(),
  reportHtml: z.string(),
  provenance: z.string(),
  cancel: z.string(),
  pause: z.string(),
  resume: z.string(),
});

export const RunCreated = z.object({
  runId: z.string().describe('Temporal run id: names this run in every /v1/runs/{id} route'),
  workflowId: z.string().describe('Workflow id derived from the spec (same spec while running: same run)'),
  attached: z
    .boolean()
    .describe('true when the same benchmark was already running and this request attached to it'),
  links: RunLinks,
});

export const Progress = z.object({
  phase: z.enum(['resolving', 'running', 'aggregating', 'finalizing', 'completed', 'cancelled']),
  total: z.number().int(),
  done: z.number().int(),
  cached: z.number().int(),
  running: z.number().int(),
  paused: z.boolean(),
  cancelRequested: z.boolean(),
});

export const WorkflowStatus = z.enum([
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TERMINATED',
  'CONTINUED_AS_NEW',
  'TIMED_OUT',
  'UNKNOWN',
]);

export const SummaryRow = z.object({
  model: z.string(),
  condition: z.string(),
  replicates: z.number().int(),
  accuracy: z.number(),
});

export const RunSummary = z.object({
  runId: z.string(),
  workflowId: z.string(),
  status: WorkflowStatus,
  startedAt: z.string().optional(),
  closedAt: z.string().optional(),
  startedHere: z.boolean().describe('started through this server process'),
  links: RunLinks,
});

export const RunList = z.object({ runs: z.array(RunSummary) });

export const RunStatus = RunSummary.extend({
  progress: Progress.optional().describe(
    "Live progress from the workflow's `progress` query while it runs (absent when no worker answers)",
  ),
  outcome: z
    .object({
      status: z.enum(['completed', 'cancelled']),
      cells: z.object({ total: z.number().int(), done: z.number().int(), cached: z.number().int() }),
      summary: z.array(SummaryRow),
    })
    .optional()
    .describe('The outcome once the workflow has completed'),
  outputs: z.string().optional().describe('Run folder on the server, once written'),
  failure: z.string().optional().describe('Why the workflow failed, when it did'),
});

export const SignalAccepted = z.object({
  runId: z.string(),
  workflowId: z.string(),
  signal: z.enum(['cancel', 'pause', 'resume']),
});

export type Problem = z.infer<typeof Problem>;
export type RunLinks = z.infer<typeof RunLinks>;
export type RunCreated = z.infer<typeof RunCreated>;
export type RunSummary = z.infer<typeof RunSummary>;
export type RunStatus = z.infer<typeof RunStatus>;
export type WorkflowStatus = z.infer<typeof WorkflowStatus>;
export type SignalAccepted = z.infer<typeof SignalAccepted>;

export function runLinks(runId: string): RunLinks {
  const self = `/v1/runs/${encodeURIComponent(runId)}`;
  return {
    self,
    results: `${self}/results`,
    report: `${self}/report`,
    reportHtml: `${self}/report?format=html`,
    provenance: `${self}/provenance`,
    cancel: `${self}/cancel`,
    pause: `${self}/pause`,
    resume: `${self}/resume`,
  };
}
