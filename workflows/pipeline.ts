import type {
  AggregateOutput,
  BenchmarkInput,
  BenchmarkOutcome,
  BenchmarkProgress,
  CellBatchTask,
  CellOutcome,
  FinalizeInput,
  FinalizeOutput,
  ResolvedBenchmark,
  RunIdentity,
} from '../activities/types';

/**
 * The benchmark DAG, written once and run by two executors: the Temporal workflow (steps are
 * activities, pause waits on a durable condition) and the in-process local executor (steps are
 * direct calls). Only plain TypeScript here, so it is safe inside the workflow sandbox.
 */
export interface PipelineSteps {
  resolveBenchmark(input: BenchmarkInput): Promise<ResolvedBenchmark>;
  runCells(task: CellBatchTask): Promise<CellOutcome[]>;
  aggregateResults(input: { plan: ResolvedBenchmark['plan'] }): Promise<AggregateOutput>;
  finalizeRun(input: FinalizeInput): Promise<FinalizeOutput>;
  /** Resolves when the run may schedule more work (not paused), or when it was cancelled. */
  waitUntilRunnable(): Promise<void>;
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

  snapshot(): BenchmarkProgress {
    return {
      phase: this.phase,
      total: this.total,
      done: this.done,
      cached: this.cached,
      running: this.running,
      paused: this.paused,
      cancelRequested: this.cancelRequested,
    };
  }
}

export async function runBenchmarkPipeline(
  input: BenchmarkInput,
  run: RunIdentity,
  steps: PipelineSteps,
  state: PipelineState,
): Promise<BenchmarkOutcome> {
  state.phase = 'resolving';
  const resolved = await steps.resolveBenchmark(input);
  state.total = resolved.cells.length;
  state.phase = 'running';

  const { concurrency, cellsPerTask } = input.spec.execution;
  const batchSize = cellsPerTask ?? autoCellsPerTask(resolved.cells.length, concurrency);
  const batches: CellBatchTask[] = [];
  for (let start = 0; start < resolved.cells.length; start += batchSize) {
    batches.push({
      planSha256: resolved.plan.sha256,
      cells: resolved.cells.slice(start, start + batchSize),
      recompute: resolved.recompute,
    });
  }
  const outcomes: CellOutcome[] = new Array<CellOutcome>(resolved.cells.length);
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
          outcomes[outcome.index] = outcome;
          state.done++;
          if (outcome.cached) state.cached++;
        }
      } finally {
        state.running -= batch.cells.length;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, lane));

  const cellCounts = () => ({ total: state.total, done: state.done, cached: state.cached });
  if (state.cancelRequested) {
    state.phase = 'cancelled';
    return {
      status: 'cancelled',
      specHash: resolved.specHash,
      plan: resolved.plan,
      summary: [],
      cells: cellCounts(),
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
    outcomes,
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
  };
}

/**
 * Default cells per activity: at least eight batches per lane (so lanes stay balanced and progress
 * stays fine-grained) and at most 8 cells per batch (so a retried batch redoes little).
 */
export function autoCellsPerTask(cells: number, concurrency: number): number {
  return Math.max(1, Math.min(8, Math.floor(cells / (concurrency * 8))));
}
