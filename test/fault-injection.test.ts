import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { startBenchmark } from '../client/temporal-run';
import { COMPUTATION_EVENTS } from '../core/cell';
import type { BenchmarkPlan } from '../core/plan';
import { LocalArtifactStore } from '../core/store/local';
import { startDevServer } from '../infra/dev-server';
import { progressQuery } from '../workflows/benchmark';
import { DEFAULT_TASK_QUEUE } from '../workers/benchmark-worker';
import { killSpawnedTempests, runTempest, spawnTempest, tempDir } from './helpers/cli';
import { exampleInput, waitFor } from './helpers/temporal';

afterAll(killSpawnedTempests);

// 2 models x (clean + 3 severities x 2 seeds) = 14 cells over 1,996 digits.
const SWEEP = `name: server-restart
dataset: { source: builtin, name: mnist, split: test }
perturbations:
  - { module: gaussian_noise, severities: [1, 3, 5] }
seeds: [1, 2]
execution: { concurrency: 2, batchSize: 200, heartbeatTimeoutSeconds: 5 }
`;

async function computationsPerCell(store: LocalArtifactStore, planSha256: string): Promise<number[]> {
  const plan = JSON.parse(new TextDecoder().decode(await store.getBlob(planSha256))) as BenchmarkPlan;
  return Promise.all(
    plan.cells.map(async (cell) => (await store.listEvents(COMPUTATION_EVENTS, cell.key)).length),
  );
}

describe('fault injection', () => {
  it('the Temporal server stops and restarts (same database) mid-sweep: the run completes, each cell computed once, same bytes', async () => {
    const stateDir = await tempDir('restart-server');
    let server = await startDevServer({ stateDir });
    const port = server.port;
    const storeDir = await tempDir('restart-store');
    const store = new LocalArtifactStore(storeDir);
    const input = await exampleInput(SWEEP);
    const worker = spawnTempest(['worker', '--address', server.address, '--artifacts', storeDir]);
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection });
      const handle = await startBenchmark(client, input, {
        taskQueue: DEFAULT_TASK_QUEUE,
        workflowId: 'server-restart',
      });
      await waitFor(async () => {
        const progress = await handle.query(progressQuery);
        return progress.done >= 3 && progress.done < progress.total ? progress : undefined;
      }, 'three finished cells');
      await server.stop();
      // Down for a while: the worker's polls and heartbeats fail and are retried meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      server = await startDevServer({ stateDir, port });
      const outcome = await handle.result();
      expect(outcome.status).toBe('completed');
      expect(outcome.cells.done).toBe(14);
      expect(await computationsPerCell(store, outcome.plan!.sha256)).toEqual(new Array(14).fill(1));

      // The same spec undisturbed, on a fresh store: identical results.json bytes.
      const freshDir = await tempDir('restart-fresh');
      const out = join(freshDir, 'out');
      const undisturbed = await runTempest(
        ['run', join(input.baseDir, input.specSource), '--executor', 'local', '--out', out],
        {
          TEMPEST_HOME: freshDir,
        },
      );
      expect(undisturbed.code).toBe(0);
      expect(Buffer.from(await store.getBlob(outcome.results!.sha256))).toEqual(
        await readFile(join(out, 'results.json')),
      );
    } finally {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
      await connection.close();
      await server.stop();
    }
  }, 300_000);

  it('a corrupted stored artifact is detected and only its cell is recomputed, to the same bytes', async () => {
    const home = await tempDir('corrupt-artifact');
    const spec = join(home, 'spec.yaml');
    await writeFile(
      spec,
      (await readFile('examples/mnist-quick.yaml', 'utf8'))
        .replace('samples: 1000', 'samples: 300')
        .replace(/path: models\//g, `path: ${process.cwd()}/examples/models/`),
    );
    const run = (out: string) =>
      runTempest(['run', spec, '--executor', 'local', '--out', join(home, out)], { TEMPEST_HOME: home });
    expect((await run('first')).code).toBe(0);
    // Flip one byte of one stored logits blob (the store names blobs by their sha256).
    const record = JSON.parse(await readFile(join(home, 'first', 'run.json'), 'utf8')) as {
      artifacts: { list: { role: string; sha256: string }[] };
    };
    const logits = record.artifacts.list.find((entry) => entry.role === 'logits')!.sha256;
    const blobDir = join(home, 'artifacts', 'blobs', 'sha256', logits.slice(0, 2));
    expect(await readdir(blobDir)).toContain(logits);
    const bytes = await readFile(join(blobDir, logits));
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(join(blobDir, logits), bytes);

    const second = await run('second');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('(1 computed, 13 cache hits)');
    expect(await readFile(join(home, 'second', 'results.json'))).toEqual(
      await readFile(join(home, 'first', 'results.json')),
    );
    // The recomputation rewrote the blob with the right bytes.
    expect((await verifyArtifacts(home, 'second')).code).toBe(0);
  }, 180_000);
});

function verifyArtifacts(home: string, out: string) {
  return runTempest(['verify', join(home, out), '--reexecute', '0'], { TEMPEST_HOME: home });
}
