import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import type { BenchmarkInput, BenchmarkOutcome, BenchmarkProgress } from '../activities/types';
import { OUTPUT_FILES, writeRunOutputs } from '../client/outputs';
import { fetchRunHistories, startBenchmark, type BenchmarkHandle } from '../client/temporal-run';
import { ArtifactNotFoundError } from '../core/errors';
import type { ArtifactStore } from '../core/store/types';
import {
  benchmarkWorkflow,
  cancelSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
} from '../workflows/benchmark';
import {
  runLinks,
  WorkflowStatus,
  type RunCreated,
  type RunStatus,
  type RunSummary,
  type SignalAccepted,
} from './schemas';

/** An error the HTTP layer turns into this status and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RunServiceOptions {
  readonly client: Client;
  readonly taskQueue: string;
  /** The store the workers write to: run folders are copied out of it. */
  readonly store: ArtifactStore;
  /** Run folders go to <outDir>/<runId>. */
  readonly outDir: string;
  readonly log: (line: string) => void;
}

interface RunRef {
  readonly workflowId: string;
  readonly runId: string;
}

const QUERY_TIMEOUT_MS = 3000;
const LIST_LIMIT = 100;
/** Temporal run ids are UUIDs; checking the shape also keeps ids out of the visibility query's syntax. */
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WORKFLOW_TYPE = benchmarkWorkflow.name;

type SignalName = SignalAccepted['signal'];
const SIGNALS = { cancel: cancelSignal, pause: pauseSignal, resume: resumeSignal } as const;
export type FileKind = 'results' | 'report' | 'reportHtml' | 'provenance';
const FILES: Record<FileKind, string> = {
  results: OUTPUT_FILES.results,
  report: OUTPUT_FILES.report,
  reportHtml: OUTPUT_FILES.htmlReport,
  provenance: OUTPUT_FILES.provenance,
};

type ExecutionTimes = Pick<WorkflowExecutionInfo, 'status' | 'startTime' | 'closeTime'>;

function statusName(description: Pick<WorkflowExecutionInfo, 'status'>): WorkflowStatus {
  const parsed = WorkflowStatus.safeParse(description.status.name);
  return parsed.success ? parsed.data : 'UNKNOWN';
}

/**
 * What the API does with Temporal: start benchmark workflows, describe and signal them, and write
 * a finished run's folder (writeRunOutputs) so its files can be served. Run folders are written
 * once per run id, when a run started here completes, or on the first request for a file of a run
 * that completed while no server watched it (started elsewhere, or before a restart).
 */
export class RunService {
  /** Runs started through this process, newest last. */
  private readonly started = new Map<string, RunRef & { readonly startedAt: string }>();
  /** Run folder being written or written, by run id; a failed write is forgotten so it can be retried. */
  private readonly outputs = new Map<string, Promise<string>>();
  /** Aborts the result long-polls of the runs being watched when the server closes. */
  private readonly closing = new AbortController();

  constructor(private readonly options: RunServiceOptions) {}

  async start(input: BenchmarkInput): Promise<RunCreated> {
    const handle = await startBenchmark(this.options.client, input, { taskQueue: this.options.taskQueue });
    const runId = handle.firstExecutionRunId;
    const attached = this.started.has(runId);
    if (!attached) {
      this.started.set(runId, { workflowId: handle.workflowId, runId, startedAt: new Date().toISOString() });
      this.watch({ workflowId: handle.workflowId, runId });
    }
    return { runId, workflowId: handle.workflowId, attached, links: runLinks(runId) };
  }

  /** Write the run folder as soon as the run completes, so the files are there on the first request. */
  private watch(ref: RunRef): void {
    const handle = this.handleOf(ref);
    const { connection } = this.options.client;
    connection
      .withAbortSignal(this.closing.signal, () => handle.result())
      .then(
        () => this.writeOutputs(ref),
        (error: unknown) => {
          if (!this.closing.signal.aborted) {
            this.options.log(`run ${ref.runId} ended without an outcome: ${(error as Error).message}`);
          }
        },
      )
      .catch((error: unknown) =>
        this.options.log(`run ${ref.runId}: cannot write its run folder: ${(error as Error).message}`),
      );
  }

  private handleOf(ref: RunRef): BenchmarkHandle {
    return this.options.client.workflow.getHandle<typeof benchmarkWorkflow>(ref.workflowId, ref.runId);
  }

  /**
   * A run id (from this server or Temporal's visibility), or a workflow id (its latest run), and
   * the workflow's description.
   */
  private async find(id: string): Promise<{ ref: RunRef; description: WorkflowExecutionDescription }> {
    const known = this.started.get(id);
    let workflowId = known?.workflowId ?? id;
    let runId: string | undefined = known?.runId;
    if (!known && RUN_ID.test(id)) {
      for await (const execution of this.options.client.workflow.list({ query: `RunId = '${id}'` })) {
        workflowId = execution.workflowId;
        runId = execution.runId;
        break;
      }
    }
    try {
      const description = await this.options.client.workflow.getHandle(workflowId, runId).describe();
      if (description.type !== WORKFLOW_TYPE) throw new ApiError(404, `${id} is not a benchmark run`);
      return { ref: { workflowId, runId: description.runId }, description };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        throw new ApiError(404, `no benchmark run ${id} on this Temporal server (GET /v1/runs lists them)`);
      }
      throw error;
    }
  }

  private summaryOf(ref: RunRef, description: ExecutionTimes): RunSummary {
    return {
      runId: ref.runId,
      workflowId: ref.workflowId,
      status: statusName(description),
      startedAt: description.startTime.toISOString(),
      closedAt: description.closeTime?.toISOString(),
      startedHere: this.started.has(ref.runId),
      links: runLinks(ref.runId),
    };
  }

  async list(): Promise<RunSummary[]> {
    const runs = new Map<string, RunSummary>();
    for await (const execution of this.options.client.workflow.list({
      query: `WorkflowType = '${WORKFLOW_TYPE}'`,
    })) {
      runs.set(execution.runId, this.summaryOf(execution, execution));
      if (runs.size >= LIST_LIMIT) break;
    }
    // Visibility is eventually consistent: a run started a moment ago may not be listed yet.
    for (const ref of this.started.values()) {
      if (runs.has(ref.runId)) continue;
      const description = await this.handleOf(ref).describe();
      runs.set(ref.runId, this.summaryOf(ref, description));
    }
    return [...runs.values()].sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
  }

  async status(id: string): Promise<RunStatus> {
    const { ref, description } = await this.find(id);
    const status: RunStatus = this.summaryOf(ref, description);
    const handle = this.handleOf(ref);
    if (status.status === 'RUNNING') {
      const progress = await this.progressOf(handle);
      return progress ? { ...status, progress } : status;
    }
    if (status.status === 'COMPLETED') {
      const outcome = await handle.result();
      const folder = this.folderOf(ref);
      return {
        ...status,
        outcome: { status: outcome.status, cells: outcome.cells, summary: [...outcome.summary] },
        outputs: existsSync(join(folder, OUTPUT_FILES.checksums)) ? folder : undefined,
      };
    }
    if (status.status === 'FAILED') {
      const failure = await handle.result().then(
        () => undefined,
        (error: unknown) => errorChain(error),
      );
      return { ...status, failure };
    }
    return status;
  }

  /** Progress while the workflow runs; undefined when no worker answers the query in time. */
  private async progressOf(handle: BenchmarkHandle): Promise<BenchmarkProgress | undefined> {
    const call = new AbortController();
    const timer = setTimeout(() => call.abort(), QUERY_TIMEOUT_MS);
    try {
      return await this.options.client.connection.withAbortSignal(call.signal, () =>
        handle.query(progressQuery),
      );
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async signal(id: string, signal: SignalName): Promise<SignalAccepted> {
    const { ref, description } = await this.find(id);
    if (statusName(description) !== 'RUNNING') {
      throw new ApiError(
        409,
        `run ${ref.runId} is ${statusName(description)}, not running: nothing to ${signal}`,
      );
    }
    await this.handleOf(ref).signal(SIGNALS[signal]);
    this.options.log(`run ${ref.runId}: sent ${signal}`);
    return { ...ref, signal };
  }

  /** The path of one file of a finished run, writing the run folder first when needed. */
  async file(id: string, kind: FileKind): Promise<string> {
    const { ref, description } = await this.find(id);
    const status = statusName(description);
    if (status === 'RUNNING') {
      throw new ApiError(
        409,
        `run ${ref.runId} is still running; follow GET /v1/runs/${ref.runId} until COMPLETED`,
      );
    }
    if (status !== 'COMPLETED') {
      throw new ApiError(
        409,
        `run ${ref.runId} ended ${status}; it has no outputs (GET /v1/runs/${ref.runId} says why)`,
      );
    }
    const folder = await this.writeOutputs(ref);
    const path = join(folder, FILES[kind]);
    if (!existsSync(path)) {
      throw new ApiError(
        404,
        `run ${ref.runId} has no ${FILES[kind]} (a run cancelled before its results has none)`,
      );
    }
    return path;
  }

  private folderOf(ref: RunRef): string {
    return resolve(this.options.outDir, ref.runId);
  }

  private writeOutputs(ref: RunRef): Promise<string> {
    let pending = this.outputs.get(ref.runId);
    if (!pending) {
      pending = this.writeOutputsOnce(ref);
      this.outputs.set(ref.runId, pending);
      pending.catch(() => this.outputs.delete(ref.runId));
    }
    return pending;
  }

  private async writeOutputsOnce(ref: RunRef): Promise<string> {
    const folder = this.folderOf(ref);
    // SHA256SUMS is written last: a folder that has it is complete (e.g. written before a restart).
    if (existsSync(join(folder, OUTPUT_FILES.checksums))) return folder;
    const handle = this.handleOf(ref);
    const outcome: BenchmarkOutcome = await handle.result();
    const histories = await fetchRunHistories(handle, outcome);
    try {
      await writeRunOutputs(this.options.store, outcome, folder, histories);
    } catch (error) {
      // A run whose workers wrote to another store (started elsewhere, another --artifacts).
      if (error instanceof ArtifactNotFoundError) {
        throw new ApiError(
          404,
          `the artifacts of run ${ref.runId} are not in this server's store ${this.options.store.uri} ` +
            "(start tempest serve with the workers' --artifacts): " +
            error.message,
        );
      }
      throw error;
    }
    this.options.log(`run ${ref.runId}: ${outcome.status}; wrote ${folder}`);
    return folder;
  }

  /** Stop watching runs and wait for run folders being written. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled(this.outputs.values());
  }
}

function errorChain(error: unknown): string {
  const messages: string[] = [];
  for (let cause = error; cause instanceof Error; cause = cause.cause) messages.push(cause.message);
  return messages.join(': ');
}
