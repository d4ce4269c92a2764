import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { BenchmarkActivities } from '../activities/benchmark-activities';
import type {
  BenchmarkInput,
  BenchmarkOutcome,
  BenchmarkProgress,
  CellBatchTask,
  ShardResult,
  ShardTask,
  SweepCheckpoint,
} from '../activities/types';
import type { BenchmarkSpec } from '../spec';
import { DEFAULT_SHARDS_PER_RUN, PipelineState, runBenchmarkPipeline, runShardPipeline } from './pipeline';

export const progressQuery = defineQuery<BenchmarkProgress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Stop scheduling cells; cells already running finish and stay in the store for the next run. */
export const cancelSignal = defineSignal('cancel');

type ExecutionSpec = BenchmarkSpec['execution'];

/** The activities with the spec's timeouts; attack batches go to `attackTaskQueue` when it is set. */
function benchmarkActivities(execution: ExecutionSpec) {
  const options = {
    startToCloseTimeout: `${execution.cellTimeoutSeconds} seconds`,
    heartbeatTimeout: `${execution.heartbeatTimeoutSeconds} seconds`,
    // Bad input fails at once (activities raise it as non-retryable); machine faults retry with backoff.
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: 10,
    },
  } as const;
  const activities = proxyActivities<BenchmarkActivities>(options);
  const attackActivities = execution.attackTaskQueue
    ? proxyActivities<BenchmarkActivities>({ ...options, taskQueue: execution.attackTaskQueue })
    : activities;
  return {
    activities,
    runCells: (task: CellBatchTask) => (task.attack ? attackActivities : activities).runCells(task),
  };
}

/**
 * Pause, resume and cancel change `state`, and reach the running shard too when there is one.
 * Returns the pipeline's wait: until the run is not paused, or is cancelled.
 */
function handleControls(
  state: PipelineState,
  runningShard: () => ChildWorkflowHandle<typeof cellShardWorkflow> | undefined,
) {
  const forward = (signal: SignalDefinition) => {
    // The shard may finish as the signal is sent; the parent's own state still holds the request.
    runningShard()
      ?.signal(signal)
      .catch(() => undefined);
  };
  setHandler(progressQuery, () => state.snapshot());
  setHandler(pauseSignal, () => {
    state.paused = true;
    forward(pauseSignal);
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
    forward(resumeSignal);
  });
  setHandler(cancelSignal, () => {
    state.cancelRequested = true;
    forward(cancelSignal);
  });
  return () => condition(() => !state.paused || state.cancelRequested);
}

export async function benchmarkWorkflow(
  input: BenchmarkInput,
  checkpoint?: SweepCheckpoint,
): Promise<BenchmarkOutcome> {
  const state = new PipelineState();
  let shard: ChildWorkflowHandle<typeof cellShardWorkflow> | undefined;
  const waitUntilRunnable = handleControls(state, () => shard);

  const { execution } = input.spec;
  const { activities, runCells } = benchmarkActivities(execution);
  const info = workflowInfo();
  return runBenchmarkPipeline(
    input,
    {
      executor: 'temporal',
      workflowId: info.workflowId,
      runId: info.runId,
      namespace: info.namespace,
      taskQueue: info.taskQueue,
      startedAt: checkpoint?.startedAt ?? info.startTime.toISOString(),
    },
    {
      // The activity proxy is a Proxy object: name the steps rather than spreading it.
      resolveBenchmark: activities.resolveBenchmark,
      runCells,
      aggregateResults: activities.aggregateResults,
      finalizeRun: activities.finalizeRun,
      waitUntilRunnable,
      // Runs recorded before sharding existed have no marker and replay on the unsharded path.
      shardsAllowed: () => patched('sharded-sweeps'),
      async runShard(task: ShardTask): Promise<ShardResult> {
        const workflowId = `${info.workflowId}-shard-${task.shard}`;
        shard = await startChild(cellShardWorkflow, { workflowId, args: [{ task, execution }] });
        state.runningShard = workflowId;
        try {
          return await shard.result();
        } finally {
          shard = undefined;
          state.runningShard = undefined;
        }
      },
      async continueAsNewIfDue(next: SweepCheckpoint, shardsThisRun: number): Promise<void> {
        if (
          workflowInfo().continueAsNewSuggested ||
          shardsThisRun >= (execution.shardsPerRun ?? DEFAULT_SHARDS_PER_RUN)
        ) {
          await continueAsNew<typeof benchmarkWorkflow>(input, next);
        }
      },
    },
    state,
    checkpoint,
  );
}

/** One shard of a large sweep, as a child workflow: its own short history, its own progress. */
export async function cellShardWorkflow(input: {
  readonly task: ShardTask;
  readonly execution: ExecutionSpec;
}): Promise<ShardResult> {
  const state = new PipelineState();
  const waitUntilRunnable = handleControls(state, () => undefined);
  const { activities, runCells } = benchmarkActivities(input.execution);
  const info = workflowInfo();
  const result = await runShardPipeline(
    input.task,
    {
      shardCells: activities.shardCells,
      storeOutcomes: activities.storeOutcomes,
      runCells,
      waitUntilRunnable,
    },
    state,
  );
  return { ...result, execution: { workflowId: info.workflowId, runId: info.runId } };
}
