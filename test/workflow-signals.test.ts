import { describe, expect, it } from 'vitest';
import type { BenchmarkOutcome } from '../activities/types';
import { startBenchmark, type BenchmarkHandle } from '../client/temporal-run';
import { LocalArtifactStore } from '../core/store/local';
import { cancelSignal, pauseSignal, progressQuery, resumeSignal } from '../workflows/benchmark';
import { tempDir } from './helpers/cli';
import { exampleInput, useTestTemporal, waitFor, withTestWorker } from './helpers/temporal';

const SWEEP = `name: signals
dataset: { source: builtin, name: mnist, split: test, samples: 1000 }
perturbations:
  - { module: gaussian_noise, severities: [1, 2, 3, 4, 5] }
seeds: [1, 2, 3]
execution: { concurrency: 1, cellsPerTask: 1 }
`;

const testTemporal = useTestTemporal();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Start the spec on its own task queue, served by a worker with one cell slot (so cells run one
 * at a time and signals land between them), and let `drive` signal it and return its outcome.
 */
async function driveBenchmark(
  taskQueue: string,
  spec: string,
  drive: (handle: BenchmarkHandle) => Promise<BenchmarkOutcome>,
): Promise<BenchmarkOutcome> {
  const temporal = testTemporal();
  const store = new LocalArtifactStore(await tempDir('store'));
  return withTestWorker(
    temporal.address,
    taskQueue,
    store,
    (worker) =>
      worker.runUntil(async () =>
        drive(await startBenchmark(temporal.client, await exampleInput(spec), { taskQueue })),
      ),
    1,
  );
}

describe('benchmark workflow signals and progress query', () => {
  it('pauses (no new cells), resumes, and cancels (stops scheduling, keeps finished cells)', async () => {
    const outcome = await driveBenchmark('signals', SWEEP, async (handle) => {
      await waitFor(
        async () => ((await handle.query(progressQuery)).done >= 2 ? true : undefined),
        'two cells',
      );
      await handle.signal(pauseSignal);
      const paused = await handle.query(progressQuery);
      expect(paused.paused).toBe(true);
      // The one cell in flight may finish; no further cell may start while paused.
      await sleep(2500);
      const stillPaused = await handle.query(progressQuery);
      expect(stillPaused.running).toBe(0);
      expect(stillPaused.done).toBeLessThanOrEqual(paused.done + 1);
      await sleep(1000);
      expect((await handle.query(progressQuery)).done).toBe(stillPaused.done);

      await handle.signal(resumeSignal);
      await waitFor(
        async () => ((await handle.query(progressQuery)).done > stillPaused.done ? true : undefined),
        'progress after resume',
      );
      await handle.signal(cancelSignal);
      return handle.result();
    });
    expect(outcome.status).toBe('cancelled');
    expect(outcome.cells.total).toBe(2 * (1 + 5 * 3));
    expect(outcome.cells.done).toBeGreaterThan(2);
    expect(outcome.cells.done).toBeLessThan(outcome.cells.total);
    expect(outcome.results).toBeUndefined();
  });

  it('forwards pause, resume and cancel to the running shard of a sharded sweep', async () => {
    const sharded = SWEEP.replace('name: signals', 'name: signals-sharded').replace(
      'cellsPerTask: 1 }',
      'cellsPerTask: 1, cellsPerShard: 8 }',
    );
    const outcome = await driveBenchmark('signals-sharded', sharded, async (handle) => {
      const shard = handle.client.getHandle(`${handle.workflowId}-shard-0`);
      await waitFor(async () => {
        try {
          return (await shard.query(progressQuery)).done >= 2 ? true : undefined;
        } catch {
          return undefined; // the shard has not started yet
        }
      }, 'two cells of the first shard');
      await handle.signal(pauseSignal);
      await waitFor(
        async () => ((await shard.query(progressQuery)).paused ? true : undefined),
        'the shard paused',
      );
      const paused = await shard.query(progressQuery);
      // The parent names its running shard, whose own progress the client adds while following.
      expect((await handle.query(progressQuery)).runningShard).toBe(shard.workflowId);
      await sleep(2000);
      const stillPaused = await shard.query(progressQuery);
      expect(stillPaused.running).toBe(0);
      expect(stillPaused.done).toBeLessThanOrEqual(paused.done + 1);

      await handle.signal(resumeSignal);
      await waitFor(
        async () => ((await shard.query(progressQuery)).done > stillPaused.done ? true : undefined),
        'the shard progressing after resume',
      );
      await handle.signal(cancelSignal);
      const result = await handle.result();
      expect((await shard.query(progressQuery)).cancelRequested).toBe(true);
      return result;
    });
    expect(outcome.status).toBe('cancelled');
    expect(outcome.cells.total).toBe(32);
    expect(outcome.cells.done).toBeLessThan(outcome.cells.total);
    // The shard's finished cells stay in the store and count as done.
    expect(outcome.cells.done).toBeGreaterThan(2);
  });
});
