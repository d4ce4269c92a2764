import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { BenchmarkInput, BenchmarkOutcome, BenchmarkProgress } from '../activities/types';
import type { RunHistories } from './outputs';
import { benchmarkWorkflow, progressQuery } from '../workflows/benchmark';
import { benchmarkWorkflowId } from './run-id';

export type BenchmarkHandle = WorkflowHandle<typeof benchmarkWorkflow>;

/**
 * The workflow type name registered by Tempest workers: callers using the Temporal client
 * directly start workflows by this name with one BenchmarkInput argument.
 */
export const BENCHMARK_WORKFLOW_TYPE = 'benchmarkWorkflow';

/** Start a benchmark workflow, or attach to the one already running for the same input. */
export async function startBenchmark(
  client: Client,
  input: BenchmarkInput,
  options: { taskQueue: string; workflowId?: string },
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof benchmarkWorkflow>> {
  // A client that encrypts payloads must not put the spec's name in the clear workflow id.
  const encrypted = client.options.loadedDataConverter.payloadCodecs.length > 0;
  return client.workflow.start(benchmarkWorkflow, {
    taskQueue: options.taskQueue,
    workflowId: options.workflowId ?? benchmarkWorkflowId(input, { withName: !encrypted }),
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
}

/** Following stopped because the caller's signal fired (e.g. Ctrl-C); the workflow itself runs on. */
export class FollowInterruptedError extends Error {
  override readonly name = 'FollowInterruptedError';
  constructor() {
    super('stopped following the run');
  }
}

/**
 * Wait for the outcome while polling the progress query. Query failures (no worker has picked the
 * workflow up yet, a worker restarting) are expected while following and only skip an update.
 * Aborting `signal` stops following; it does not touch the workflow.
 */
export async function followBenchmark(
  handle: BenchmarkHandle,
  onProgress: (progress: BenchmarkProgress) => void,
  options: { intervalMs?: number; signal?: AbortSignal } = {},
): Promise<BenchmarkOutcome> {
  const { intervalMs = 500, signal } = options;
  // Calls made while following are aborted when following ends, so no RPC (the result long-poll,
  // a query) outlives it and retries into a connection that is closed afterwards.
  const { connection } = handle.client;
  const resultCall = new AbortController();
  let queryCall: AbortController | undefined;
  let following = true;
  const result = connection.withAbortSignal(resultCall.signal, () => handle.result());
  const interrupted = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(new FollowInterruptedError());
    signal?.addEventListener('abort', () => reject(new FollowInterruptedError()), { once: true });
  });
  // Whichever loses the race below must not surface later as an unhandled rejection.
  result.catch(() => undefined);
  interrupted.catch(() => undefined);
  const poll = (async () => {
    while (following) {
      try {
        queryCall = new AbortController();
        const call = queryCall.signal;
        const progress = await connection.withAbortSignal(call, () => handle.query(progressQuery));
        onProgress(
          await withShardProgress(handle, progress, (query) => connection.withAbortSignal(call, query)),
        );
      } catch {
        // not answerable right now; try again on the next tick
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  try {
    return await Promise.race([result, interrupted]);
  } finally {
    following = false;
    resultCall.abort();
    queryCall?.abort();
    await poll;
  }
}

/**
 * A sharded sweep's parent counts a shard's cells when the shard finishes; add the running shard's
 * own progress (its child workflow answers the same query), so progress moves cell by cell.
 */
async function withShardProgress(
  handle: BenchmarkHandle,
  progress: BenchmarkProgress,
  call: <T>(query: () => Promise<T>) => Promise<T>,
): Promise<BenchmarkProgress> {
  if (!progress.runningShard) return progress;
  try {
    const shard = await call(() => handle.client.getHandle(progress.runningShard!).query(progressQuery));
    return {
      ...progress,
      done: progress.done + shard.done,
      cached: progress.cached + shard.cached,
      running: shard.running,
    };
  } catch {
    return progress; // the shard is starting or just finished
  }
}

/**
 * The event histories of a finished run as the server stores them (payloads stay encrypted when a
 * payload key is in use): the final workflow run, plus, for a sharded sweep, every earlier run of
 * its continue-as-new chain and every shard's child workflow.
 */
export async function fetchRunHistories(
  handle: BenchmarkHandle,
  outcome: BenchmarkOutcome,
): Promise<RunHistories> {
  const others = [];
  for (const execution of outcome.executions ?? []) {
    const history = await handle.client.getHandle(execution.workflowId, execution.runId).fetchHistory();
    others.push({ ...execution, json: historyToJSON(history) });
  }
  return { final: historyToJSON(await handle.fetchHistory()), others };
}
