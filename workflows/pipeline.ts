import type {
  AggregateOutput,
  BenchmarkInput,
  BenchmarkOutcome,
  BenchmarkProgress,
  CellBatchTask,
  CellOutcome,
  CellTask,
  FinalizeInput,
  FinalizeOutput,
  ResolvedBenchmark,
  RunIdentity,
  ShardResult,
  ShardTask,
  SweepCheckpoint,
} from '../activities/types';
import type { ArtifactRef } from '../core/store/types';

/**
 * Sweeps with more cells than this run as shards (child workflows under Temporal) unless the spec
 * sets `execution.cellsPerShard`. A shard's history then holds at most ~60 activities of 8 cells,
 * far below Temporal's limits, however large the sweep.
 */
export const DEFAULT_CELLS_PER_SHARD = 500;
/** Shards one workflow run starts before it continues as new (unless the server suggests sooner). */
export const DEFAULT_SHARDS_PER_RUN = 100;

/** Cells per shard for these execution settings. */
export function cellsPerShardOf(execution: BenchmarkInput['spec']['execution']): number {
  return execution.cellsPerShard ?? DEFAULT_CELLS_PER_SHARD;
}

/**
 * Whether a sweep of `cells` cells is large enough to run as shards. The resolve activity (which
 * then leaves the cell list out of its result) and the pipeline both ask here, so they agree.
 */
export function needsShards(cells: number, execution: BenchmarkInput['spec']['execution']): boolean {
  return cells > cellsPerShardOf(execution);
}

/** The steps that evaluate cells: shared by a whole sweep and by one shard of it. */
export interface CellSteps {
  runCells(task: CellBatchTask): Promise<CellOutcome[]>;
  /** Resolves when the run may schedule more work (not paused), or when it was cancelled. */
  waitUntilRunnable(): Promise<void>;
}

/**
 * The benchmark DAG, written once and run by two executors: the Temporal workflow (steps are
 * activities, shards are child workflows, pause waits on a durable condition) and the in-process
 * local executor (steps are direct calls). Only plain TypeScript here, so it is safe inside the
 * workflow sandbox.
 */
export interface PipelineSteps extends CellSteps {
  resolveBenchmark(input: BenchmarkInput): Promise<ResolvedBenchmark>;
  aggregateResults(input: { plan: ResolvedBenchmark['plan'] }): Promise<AggregateOutput>;
  finalizeRun(input: FinalizeInput): Promise<FinalizeOutput>;
  /** Run one shard of a large sweep: a child workflow, or the shard pipeline in-process. */
  runShard(task: ShardTask): Promise<ShardResult>;
  /**
   * Whether this sweep may be sharded (asked only when it is large enough). The workflow answers
   * through a patch marker, so runs recorded before sharding existed replay unchanged.
   */
  shardsAllowed(): boolean;
  /**
   * Temporal: continue as new from `checkpoint` (never returns) when this run's history is long
   * enough; otherwise return. Absent for the local executor, which has no history.
   */
  continueAsNewIfDue?(checkpoint: SweepCheckpoint, shardsThisRun: number): Promise<void>;
}

/** The steps of one shard: read its cells from the plan, evaluate them, store the outcomes. */
export interface ShardSteps extends CellSteps {
  shardCells(task: { plan: ArtifactRef; start: number; end: number }): Promise<CellTask[]>;
  storeOutcomes(input: { outcomes: readonly CellOutcome[] }): Promise<ArtifactRef>;
}

/** Progress state the executors expose; mutated by the pipeline, read by queries. */
export class PipelineState {
  phase: BenchmarkProgress['phase'] = 'resolving';
  total = 0;
  done = 0;
  cached = 0;
  running = 0;
  paused = false;
  cancelRequested = false;
  runningShard: string | undefined;

  snapshot(): BenchmarkProgress {
    return {
      phase: this.phase,
      total: this.total,
      done: this.done,
      cached: this.cached,
      running: this.running,
      paused: this.paused,
      cancelRequested: this.cancelRequested,
      ...(this.runningShard !== undefined && { runningShard: this.runningShard }),
    };
  }
}

export async function runBenchmarkPipeline(
  input: BenchmarkInput,
  run: RunIdentity,
  steps: PipelineSteps,
  state: PipelineState,
  checkpoint?: SweepCheckpoint,
): Promise<BenchmarkOutcome> {
  if (!checkpoint) state.phase = 'resolving';
  const resolved = checkpoint?.resolved ?? (await steps.resolveBenchmark(input));
  const total = resolved.cellCount ?? resolved.cells.length;
  state.total = total;
  state.phase = 'running';

  const { concurrency, cellsPerTask } = input.spec.execution;
  let finalized: Pick<FinalizeInput, 'outcomes' | 'shardOutcomes'>;
  let executions: BenchmarkOutcome['executions'];
  if (checkpoint || (needsShards(total, input.spec.execution) && steps.shardsAllowed())) {
    const shards = await runShards(input, run, resolved, steps, state, checkpoint);
    finalized = { outcomes: [], shardOutcomes: shards.results.map((shard) => shard.outcomes) };
    executions = [
      ...shards.earlierRuns,
      ...shards.results.flatMap((shard) => (shard.execution ? [shard.execution] : [])),
    ];
  } else {
    const options = {
      planSha256: resolved.plan.sha256,
      recompute: resolved.recompute,
      concurrency,
      cellsPerTask,
    };
    finalized = { outcomes: await runCellBatches(resolved.cells, options, steps, state) };
  }

  const cellCounts = () => ({ total: state.total, done: state.done, cached: state.cached });
  if (state.cancelRequested) {
    state.phase = 'cancelled';
    return {
      status: 'cancelled',
      specHash: resolved.specHash,
      plan: resolved.plan,
      summary: [],
      cells: cellCounts(),
      ...(executions && { executions }),
    };
  }
  state.phase = 'aggregating';
  const aggregate = await steps.aggregateResults({ plan: resolved.plan });
  state.phase = 'finalizing';
  const final = await steps.finalizeRun({
    input,
    plan: resolved.plan,
    results: aggregate.results,
    run,
    ...finalized,
  });
  state.phase = 'completed';
  return {
    status: 'completed',
    specHash: resolved.specHash,
    plan: resolved.plan,
    results: aggregate.results,
    report: final.report,
    provenance: final.provenance,
    summary: aggregate.summary,
    cells: cellCounts(),
    ...(executions && { executions }),
  };
}

/**
 * Run a large sweep shard by shard, in plan order, one shard at a time (each shard already keeps
 * `concurrency` cells in flight). Before each new shard the workflow may continue as new, carrying
 * the finished shards' stored outcomes instead of their events.
 */
async function runShards(
  input: BenchmarkInput,
  run: RunIdentity,
  resolved: ResolvedBenchmark,
  steps: PipelineSteps,
  state: PipelineState,
  checkpoint: SweepCheckpoint | undefined,
): Promise<{ results: ShardResult[]; earlierRuns: SweepCheckpoint['earlierRuns'] }> {
  const { concurrency, cellsPerTask } = input.spec.execution;
  const cellsPerShard = cellsPerShardOf(input.spec.execution);
  const total = state.total;
  const shardCount = Math.ceil(total / cellsPerShard);
  const results = [...(checkpoint?.shards ?? [])];
  const earlierRuns = checkpoint?.earlierRuns ?? [];
  if (checkpoint) {
    state.paused = checkpoint.paused;
    state.cancelRequested = checkpoint.cancelRequested;
  }
  state.done = results.reduce((sum, shard) => sum + shard.done, 0);
  state.cached = results.reduce((sum, shard) => sum + shard.cached, 0);
  let shardsThisRun = 0;
  // Shards finish in plan order, so the finished ones say where to resume.
  for (let shard = results.length; shard < shardCount; shard++) {
    await steps.waitUntilRunnable();
    if (state.cancelRequested) break;
    if (shardsThisRun > 0 && steps.continueAsNewIfDue) {
      await steps.continueAsNewIfDue(
        {
          resolved,
          startedAt: run.startedAt,
          shards: results,
          earlierRuns: [...earlierRuns, { workflowId: run.workflowId, runId: run.runId }],
          paused: state.paused,
          cancelRequested: state.cancelRequested,
        },
        shardsThisRun,
      );
    }
    const start = shard * cellsPerShard;
    const end = Math.min(total, start + cellsPerShard);
    state.running = end - start;
    const result = await steps.runShard({
      plan: resolved.plan,
      ...(resolved.recompute !== undefined && { recompute: resolved.recompute }),
      shard,
      start,
      end,
      concurrency,
      ...(cellsPerTask !== undefined && { cellsPerTask }),
    });
    state.running = 0;
    results.push(result);
    state.done += result.done;
    state.cached += result.cached;
    shardsThisRun++;
  }
  return { results, earlierRuns };
}

/** One shard: its cells from the plan, evaluated in batches, outcomes stored as one artifact. */
export async function runShardPipeline(
  task: ShardTask,
  steps: ShardSteps,
  state: PipelineState,
): Promise<Omit<ShardResult, 'execution'>> {
  const cells = await steps.shardCells({ plan: task.plan, start: task.start, end: task.end });
  state.total = cells.length;
  state.phase = 'running';
  const outcomes = await runCellBatches(
    cells,
    {
      planSha256: task.plan.sha256,
      recompute: task.recompute,
      concurrency: task.concurrency,
      cellsPerTask: task.cellsPerTask,
    },
    steps,
    state,
  );
  state.phase = 'completed';
  return {
    shard: task.shard,
    outcomes: await steps.storeOutcomes({ outcomes }),
    done: outcomes.length,
    cached: outcomes.filter((outcome) => outcome.cached).length,
  };
}

interface BatchOptions {
  readonly planSha256: string;
  readonly recompute?: boolean;
  readonly concurrency: number;
  readonly cellsPerTask?: number;
}

/**
 * Evaluate cells in batches with at most `concurrency` batches in flight, stopping early on
 * cancel. Returns the outcomes in plan order.
 */
async function runCellBatches(
  cells: readonly CellTask[],
  options: BatchOptions,
  steps: CellSteps,
  state: PipelineState,
): Promise<CellOutcome[]> {
  const batches = cellBatches(
    cells,
    options.cellsPerTask ?? autoCellsPerTask(cells.length, options.concurrency),
    options,
  );
  const outcomes: CellOutcome[] = [];
  let next = 0;
  // A fixed number of lanes pull batches in plan order: bounded concurrency without a queue library.
  const lane = async (): Promise<void> => {
    for (;;) {
      await steps.waitUntilRunnable();
      if (state.cancelRequested || next >= batches.length) return;
      const batch = batches[next++];
      state.running += batch.cells.length;
      try {
        for (const outcome of await steps.runCells(batch)) {
          outcomes.push(outcome);
          state.done++;
          if (outcome.cached) state.cached++;
        }
      } finally {
        state.running -= batch.cells.length;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, batches.length) }, lane));
  return outcomes.sort((a, b) => a.index - b.index);
}

/**
 * Consecutive cells grouped `size` at a time; a batch never mixes attack and other cells, so
 * attack batches can go to their own task queue.
 */
export function cellBatches(
  cells: readonly CellTask[],
  size: number,
  options: Pick<BatchOptions, 'planSha256' | 'recompute'>,
): CellBatchTask[] {
  const batches: CellBatchTask[] = [];
  let current: CellTask[] = [];
  const flush = () => {
    if (current.length === 0) return;
    batches.push({
      planSha256: options.planSha256,
      cells: current,
      recompute: options.recompute,
      ...(current[0].attack && { attack: true as const }),
    });
    current = [];
  };
  for (const cell of cells) {
    if (
      current.length === size ||
      (current.length > 0 && Boolean(current[0].attack) !== Boolean(cell.attack))
    ) {
      flush();
    }
    current.push(cell);
  }
  flush();
  return batches;
}

/**
 * Default cells per activity: at least eight batches per lane (so lanes stay balanced and progress
 * stays fine-grained) and at most 8 cells per batch (so a retried batch redoes little).
 */
export function autoCellsPerTask(cells: number, concurrency: number): number {
  return Math.max(1, Math.min(8, Math.floor(cells / (concurrency * 8))));
}
