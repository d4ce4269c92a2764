import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { BenchmarkInput, BenchmarkOutcome, BenchmarkProgress } from '../activities/types';
import { benchmarkWorkflow, progressQuery } from '../workflows/benchmark';
import { benchmarkWorkflowId } from './run-id';

export type BenchmarkHandle = WorkflowHandle<typeof benchmarkWorkflow>;

/** Start a benchmark workflow, or attach to the one already running for the same input. */
export async function startBenchmark(
  client: Client,
  input: BenchmarkInput,
  options: { taskQueue: string; workflowId?: string },
): Promise<BenchmarkHandle> {
  return client.workflow.start(benchmarkWorkflow, {
    taskQueue: options.taskQueue,
    workflowId: options.workflowId ?? benchmarkWorkflowId(input),
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
}

/**
 * Wait for the outcome while polling the progress query. Query failures (no worker has picked the
 * workflow up yet, a worker restarting) are expected while following and only skip an update.
 */
export async function followBenchmark(
  handle: BenchmarkHandle,
  onProgress: (progress: BenchmarkProgress) => void,
  intervalMs = 500,
): Promise<BenchmarkOutcome> {
  let finished = false;
  const result = handle.result().finally(() => (finished = true));
  const poll = async () => {
    while (!finished) {
      try {
        onProgress(await handle.query(progressQuery));
      } catch {
        // not answerable right now; try again on the next tick
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  const [outcome] = await Promise.all([result, poll()]);
  return outcome;
}
