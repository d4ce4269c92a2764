import { randomUUID } from 'node:crypto';
import { createBenchmarkActivities } from '../activities/benchmark-activities';
import { inProcessActivityRuntime } from '../activities/activity-context';
import type { BenchmarkInput, BenchmarkOutcome, BenchmarkProgress } from '../activities/types';
import type { ArtifactStore } from '../core/store/types';
import { PipelineState, runBenchmarkPipeline, runShardPipeline } from '../workflows/pipeline';
import { workerIdentity } from '../workers/benchmark-worker';
import { benchmarkWorkflowId } from './run-id';

/**
 * Run the benchmark DAG in this process without Temporal: the same pipeline and the same
 * activity code, called directly. It produces the same results.json bytes as the workflow, and
 * is the baseline for measuring what durability costs. It is not durable: a crash loses the run
 * (though not the finished cells, which stay in the store).
 */
export async function runBenchmarkLocally(
  input: BenchmarkInput,
  store: ArtifactStore,
  options: { onProgress?: (progress: BenchmarkProgress) => void; progressIntervalMs?: number } = {},
): Promise<BenchmarkOutcome> {
  const activities = createBenchmarkActivities({
    store,
    runtime: inProcessActivityRuntime,
    workerIdentity: workerIdentity(),
  });
  // Nothing pauses an in-process run: it may always schedule more work.
  const steps = { ...activities, waitUntilRunnable: async () => undefined };
  const state = new PipelineState();
  const timer = options.onProgress
    ? setInterval(() => options.onProgress?.(state.snapshot()), options.progressIntervalMs ?? 500)
    : undefined;
  try {
    const outcome = await runBenchmarkPipeline(
      input,
      {
        executor: 'local',
        workflowId: benchmarkWorkflowId(input),
        runId: randomUUID(),
        namespace: 'local',
        taskQueue: 'in-process',
        startedAt: new Date().toISOString(),
      },
      {
        ...steps,
        shardsAllowed: () => true,
        // Shards run here too, through the same shard pipeline the child workflows use.
        runShard: (task) => runShardPipeline(task, steps, new PipelineState()),
      },
      state,
    );
    options.onProgress?.(state.snapshot());
    return outcome;
  } finally {
    if (timer) clearInterval(timer);
  }
}
