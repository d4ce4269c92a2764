import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPUTATION_EVENTS } from '../core/cell';
import { startBenchmark } from '../client/temporal-run';
import type { BenchmarkPlan } from '../core/plan';
import type { ProvenanceRecord } from '../core/provenance/record';
import { LocalArtifactStore } from '../core/store/local';
import { progressQuery } from '../workflows/benchmark';
import { killSpawnedTempests, spawnTempest, tempDir } from './helpers/cli';
import { exampleInput, useTestTemporal, waitFor, withTestWorker } from './helpers/temporal';

afterAll(killSpawnedTempests);

// 2 models x (clean + 5 severities x 4 seeds) = 42 cells over 1,996 digits: long enough to kill mid-sweep.
const SWEEP = `name: durability
dataset: { source: builtin, name: mnist, split: test }
perturbations:
  - { module: gaussian_noise, severities: [1, 2, 3, 4, 5] }
seeds: [1, 2, 3, 4]
execution: { concurrency: 2, batchSize: 200, heartbeatTimeoutSeconds: 3 }
`;

const testTemporal = useTestTemporal();

describe('a worker SIGKILLed mid-sweep', () => {
  it('loses nothing: the sweep completes on a new worker, every cell computed once, same bytes as undisturbed', async () => {
    const temporal = testTemporal();
    const input = await exampleInput(SWEEP);
    const storeDir = await tempDir('store');
    const store = new LocalArtifactStore(storeDir);
    const taskQueue = 'durability-kill';
    const workerArgs = [
      'worker',
      '--address',
      temporal.address,
      '--task-queue',
      taskQueue,
      '--artifacts',
      storeDir,
    ];

    const first = spawnTempest([...workerArgs, '--max-concurrent-cells', '2']);
    const handle = await startBenchmark(temporal.client, input, { taskQueue, workflowId: 'durability-kill' });
    const atKill = await waitFor(async () => {
      const progress = await handle.query(progressQuery);
      return progress.done >= 4 && progress.running >= 1 ? progress : undefined;
    }, 'four finished cells and one in flight');
    first.kill('SIGKILL');
    await once(first, 'exit');
    expect(atKill.done).toBeLessThan(atKill.total);

    const second = spawnTempest([...workerArgs, '--max-concurrent-cells', '2']);
    let outcome;
    try {
      outcome = await handle.result();
    } finally {
      second.kill('SIGTERM');
      await once(second, 'exit');
    }
    expect(outcome.status).toBe('completed');
    expect(outcome.cells.done).toBe(outcome.cells.total);

    // Count computations: every finished computation of a cell leaves one event in the store.
    const plan = JSON.parse(
      new TextDecoder().decode(await store.getBlob(outcome.plan!.sha256)),
    ) as BenchmarkPlan;
    const events = await Promise.all(
      plan.cells.map((cell) => store.listEvents(COMPUTATION_EVENTS, cell.key)),
    );
    expect(events.map((list) => list.length)).toEqual(plan.cells.map(() => 1));
    const workers = new Set(events.flat().map((event) => event.worker));
    expect(workers.size).toBe(2);

    // The cells that were in flight at the kill ran again (attempt > 1) on the new worker.
    const provenance = JSON.parse(
      new TextDecoder().decode(await store.getBlob(outcome.provenance!.sha256)),
    ) as ProvenanceRecord;
    expect(provenance.counts.retried).toBeGreaterThanOrEqual(1);

    // An undisturbed run of the same spec on a fresh store gives identical results.json bytes.
    const freshDir = await tempDir('store-undisturbed');
    const fresh = new LocalArtifactStore(freshDir);
    const undisturbed = await withTestWorker(
      temporal.address,
      'durability-undisturbed',
      fresh,
      async (worker) =>
        worker.runUntil(
          (
            await startBenchmark(temporal.client, input, {
              taskQueue: 'durability-undisturbed',
              workflowId: 'durability-undisturbed',
            })
          ).result(),
        ),
    );
    expect(undisturbed.cells.cached).toBe(0);
    const disturbedBytes = await store.getBlob(outcome.results!.sha256);
    const undisturbedBytes = await fresh.getBlob(undisturbed.results!.sha256);
    expect(Buffer.from(disturbedBytes).equals(Buffer.from(undisturbedBytes))).toBe(true);
  }, 300_000); // a kill, a restart and two full sweeps: minutes on a busy 2-core machine
});
