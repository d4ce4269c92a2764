import { describe, expect, it } from 'vitest';
import type { BenchmarkInput, CellBatchTask, CellOutcome, ResolvedBenchmark } from '../activities/types';
import { loadSpecText } from '../spec';
import {
  autoCellsPerTask,
  PipelineState,
  runBenchmarkPipeline,
  type PipelineSteps,
} from '../workflows/pipeline';

const ref = (sha256: string) => ({ sha256, size: 1, mediaType: 'application/json' });

function inputWith(execution: string): BenchmarkInput {
  const spec = loadSpecText(
    `apiVersion: tempest/v1\nname: p\nmodels: [{ id: m, path: m.onnx }]\ndataset: { source: builtin, name: mnist }\nexecution: ${execution}\n`,
    'p.yaml',
  );
  return { spec, specText: '', specSource: 'p.yaml', baseDir: '/' };
}

/** Steps that record what the pipeline asks for; cells "finish" after a tick, so lanes really overlap. */
function recordingSteps(cells: number, cancelAfterBatches?: { state: PipelineState; batches: number }) {
  const batches: CellBatchTask[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const resolved: ResolvedBenchmark = {
    plan: ref('plan'),
    specHash: 'h',
    cells: Array.from({ length: cells }, (_, index) => ({ index, key: `k${index}`, label: `cell ${index}` })),
  };
  const steps: PipelineSteps = {
    resolveBenchmark: async () => resolved,
    runCells: async (task) => {
      batches.push(task);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      if (cancelAfterBatches && batches.length >= cancelAfterBatches.batches) {
        cancelAfterBatches.state.cancelRequested = true;
      }
      return task.cells.map((cell): CellOutcome => ({
        index: cell.index,
        key: cell.key,
        cached: cell.index % 2 === 0,
        result: ref(`r${cell.index}`),
        computeMs: 0,
        worker: 'w',
        attempt: 1,
        startedAt: '',
        finishedAt: '',
      }));
    },
    aggregateResults: async () => ({ results: ref('results'), summary: [] }),
    finalizeRun: async (input) => {
      expect(input.outcomes.map((outcome) => outcome.index)).toEqual(
        resolved.cells.map((cell) => cell.index),
      );
      return { report: ref('report'), provenance: ref('provenance') };
    },
    waitUntilRunnable: async () => undefined,
  };
  return { steps, batches, maxInFlight: () => maxInFlight };
}

const run = {
  executor: 'local',
  workflowId: 'w',
  runId: 'r',
  namespace: 'n',
  taskQueue: 'q',
  startedAt: '',
} as const;

describe('benchmark pipeline', () => {
  it('covers every cell once, in plan order, in batches, with at most `concurrency` batches in flight', async () => {
    const { steps, batches, maxInFlight } = recordingSteps(102);
    const outcome = await runBenchmarkPipeline(
      inputWith('{ concurrency: 4 }'),
      run,
      steps,
      new PipelineState(),
    );
    expect(outcome.status).toBe('completed');
    expect(outcome.cells).toEqual({ total: 102, done: 102, cached: 51 });
    expect(batches.flatMap((batch) => batch.cells.map((cell) => cell.index))).toEqual(
      Array.from({ length: 102 }, (_, i) => i),
    );
    expect(batches[0].cells).toHaveLength(3);
    expect(maxInFlight()).toBe(4);
  });

  it('takes cellsPerTask from the spec when given', async () => {
    const { steps, batches } = recordingSteps(10);
    await runBenchmarkPipeline(
      inputWith('{ concurrency: 2, cellsPerTask: 4 }'),
      run,
      steps,
      new PipelineState(),
    );
    expect(batches.map((batch) => batch.cells.length)).toEqual([4, 4, 2]);
  });

  it('stops scheduling after cancel and skips aggregation', async () => {
    const state = new PipelineState();
    const { steps, batches } = recordingSteps(40, { state, batches: 3 });
    const outcome = await runBenchmarkPipeline(
      inputWith('{ concurrency: 1, cellsPerTask: 1 }'),
      run,
      steps,
      state,
    );
    expect(outcome.status).toBe('cancelled');
    expect(batches).toHaveLength(3);
    expect(outcome.cells.done).toBe(3);
    expect(outcome.results).toBeUndefined();
  });

  it('sizes batches for at least eight per lane, between 1 and 8 cells', () => {
    expect(autoCellsPerTask(14, 2)).toBe(1);
    expect(autoCellsPerTask(102, 4)).toBe(3);
    expect(autoCellsPerTask(10_000, 4)).toBe(8);
    expect(autoCellsPerTask(3, 8)).toBe(1);
  });
});
