import {
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BenchmarkActivities } from '../activities/benchmark-activities';
import type { BenchmarkInput, BenchmarkOutcome, BenchmarkProgress } from '../activities/types';
import { PipelineState, runBenchmarkPipeline } from './pipeline';

export const progressQuery = defineQuery<BenchmarkProgress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Stop scheduling cells; cells already running finish and stay in the store for the next run. */
export const cancelSignal = defineSignal('cancel');

export async function benchmarkWorkflow(input: BenchmarkInput): Promise<BenchmarkOutcome> {
  const state = new PipelineState();
  setHandler(progressQuery, () => state.snapshot());
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(cancelSignal, () => void (state.cancelRequested = true));

  const { execution } = input.spec;
  const activities = proxyActivities<BenchmarkActivities>({
    startToCloseTimeout: `${execution.cellTimeoutSeconds} seconds`,
    heartbeatTimeout: `${execution.heartbeatTimeoutSeconds} seconds`,
    // Bad input fails at once (activities raise it as non-retryable); machine faults retry with backoff.
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: 10,
    },
  });
  const info = workflowInfo();
  return runBenchmarkPipeline(
    input,
    {
      executor: 'temporal',
      workflowId: info.workflowId,
      runId: info.runId,
      namespace: info.namespace,
      taskQueue: info.taskQueue,
      startedAt: info.startTime.toISOString(),
    },
    {
      // The activity proxy is a Proxy object: name the steps rather than spreading it.
      resolveBenchmark: activities.resolveBenchmark,
      runCells: activities.runCells,
      aggregateResults: activities.aggregateResults,
      finalizeRun: activities.finalizeRun,
      waitUntilRunnable: () => condition(() => !state.paused || state.cancelRequested),
    },
    state,
  );
}
