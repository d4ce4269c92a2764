import { describe, expect, it } from 'vitest';
import type {
  BenchmarkInput,
  CellBatchTask,
  CellOutcome,
  ResolvedBenchmark,
  ShardTask,
  SweepCheckpoint,
} from '../activities/types';
import { loadSpecText } from '../spec';
import {
  autoCellsPerTask,
  cellBatches,
  PipelineState,
  runBenchmarkPipeline,
  runShardPipeline,
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
function recordingSteps(
  cells: number,
  cancelAfterBatches?: { state: PipelineState; batches: number },
  options: { sharded?: boolean } = {},
) {
  const batches: CellBatchTask[] = [];
  const shards: ShardTask[] = [];
  const stored = new Map<string, readonly CellOutcome[]>();
  let inFlight = 0;
  let maxInFlight = 0;
  const allCells = Array.from({ length: cells }, (_, index) => ({
    index,
    key: `k${index}`,
    label: `cell ${index}`,
  }));
  // Like the resolve activity: a sharded sweep's resolution carries the count, not the cells.
  const resolved: ResolvedBenchmark = {
    plan: ref('plan'),
    specHash: 'h',
    cells: options.sharded ? [] : allCells,
    cellCount: cells,
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
      const outcomes = input.shardOutcomes
        ? input.shardOutcomes.flatMap((list) => stored.get(list.sha256) ?? [])
        : input.outcomes;
      expect(outcomes.map((outcome) => outcome.index)).toEqual(allCells.map((cell) => cell.index));
      return { report: ref('report'), provenance: ref('provenance') };
    },
    waitUntilRunnable: async () => undefined,
    shardsAllowed: () => true,
    runShard: (task) => {
      shards.push(task);
      return runShardPipeline(
        task,
        {
          runCells: (batch) => steps.runCells(batch),
          waitUntilRunnable: () => steps.waitUntilRunnable(),
          shardCells: async ({ start, end }) => allCells.slice(start, end),
          storeOutcomes: async ({ outcomes }) => {
            stored.set(`shard${task.shard}`, outcomes);
            return ref(`shard${task.shard}`);
          },
        },
        new PipelineState(),
      );
    },
  };
  return { steps, batches, shards, maxInFlight: () => maxInFlight };
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

  it('runs a sweep larger than cellsPerShard as shards covering every cell once, in order', async () => {
    const { steps, batches, shards } = recordingSteps(35, undefined, { sharded: true });
    const outcome = await runBenchmarkPipeline(
      inputWith('{ concurrency: 2, cellsPerTask: 3, cellsPerShard: 10 }'),
      run,
      steps,
      new PipelineState(),
    );
    expect(outcome.status).toBe('completed');
    expect(outcome.cells).toEqual({ total: 35, done: 35, cached: 18 });
    expect(shards.map((shard) => [shard.start, shard.end])).toEqual([
      [0, 10],
      [10, 20],
      [20, 30],
      [30, 35],
    ]);
    // Batches stay inside their shard: 10 cells in batches of 3 give 3+3+3+1.
    expect(batches.slice(0, 4).map((batch) => batch.cells.length)).toEqual([3, 3, 3, 1]);
    expect(batches.flatMap((batch) => batch.cells.map((cell) => cell.index)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 35 }, (_, i) => i),
    );
  });

  it('keeps a sweep of at most cellsPerShard cells in one workflow', async () => {
    const { steps, shards } = recordingSteps(10);
    await runBenchmarkPipeline(inputWith('{ cellsPerShard: 10 }'), run, steps, new PipelineState());
    expect(shards).toHaveLength(0);
  });

  it('continues as new between shards and finishes from the checkpoint with nothing run twice', async () => {
    const input = inputWith('{ concurrency: 1, cellsPerShard: 4 }');
    const first = recordingSteps(18, undefined, { sharded: true });
    const checkpoints: SweepCheckpoint[] = [];
    class ContinuedAsNew extends Error {}
    // Continue as new after every second shard, as the workflow does when its history is long.
    const continueAfterTwo = async (checkpoint: SweepCheckpoint, shardsThisRun: number) => {
      if (shardsThisRun < 2) return;
      checkpoints.push(checkpoint);
      throw new ContinuedAsNew();
    };
    await expect(
      runBenchmarkPipeline(
        input,
        run,
        { ...first.steps, continueAsNewIfDue: continueAfterTwo },
        new PipelineState(),
      ),
    ).rejects.toBeInstanceOf(ContinuedAsNew);
    // Two shards finished, so the next run resumes at shard 2.
    expect(checkpoints[0].shards.map((shard) => [shard.shard, shard.done])).toEqual([
      [0, 4],
      [1, 4],
    ]);
    expect(checkpoints[0].earlierRuns).toEqual([{ workflowId: 'w', runId: 'r' }]);

    // The next run resumes without resolving again, and reuses the first run's stored shard lists.
    const second = recordingSteps(18, undefined, { sharded: true });
    let resolvedAgain = false;
    const secondRun = { ...run, runId: 'r2' };
    const outcome = await runBenchmarkPipeline(
      input,
      secondRun,
      {
        ...second.steps,
        resolveBenchmark: async () => {
          resolvedAgain = true;
          throw new Error('resolved again');
        },
        finalizeRun: async (finish) => {
          expect(finish.shardOutcomes?.map((list) => list.sha256)).toEqual([
            'shard0',
            'shard1',
            'shard2',
            'shard3',
            'shard4',
          ]);
          return { report: ref('report'), provenance: ref('provenance') };
        },
      },
      new PipelineState(),
      checkpoints[0],
    );
    expect(resolvedAgain).toBe(false);
    expect(second.shards.map((shard) => shard.shard)).toEqual([2, 3, 4]);
    expect(outcome.cells).toEqual({ total: 18, done: 18, cached: 9 });
    expect(outcome.executions).toEqual([{ workflowId: 'w', runId: 'r' }]);
  });

  it('never mixes attack cells and other cells in one batch', () => {
    const cells = [0, 1, 2, 3, 4, 5].map((index) => ({
      index,
      key: `k${index}`,
      label: '',
      ...(index >= 2 && index <= 3 && { attack: true as const }),
    }));
    const batches = cellBatches(cells, 4, { planSha256: 'p' });
    expect(batches.map((batch) => [batch.cells.map((cell) => cell.index), batch.attack ?? false])).toEqual([
      [[0, 1], false],
      [[2, 3], true],
      [[4, 5], false],
    ]);
  });
});
