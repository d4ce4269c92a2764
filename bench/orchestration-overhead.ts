/**
 * Orchestration overhead: wall time of the same 102-cell sweep (2 models x (clean + 5 severities
 * x 10 seeds), 1,996 digits per cell) under the durable Temporal executor (embedded dev server,
 * in-process worker, as `tempest run` does) versus the in-process local executor, each on a fresh
 * artifact store so every cell is computed. Both use the spec's concurrency; the worker gets
 * min(concurrency, cores) slots as in `tempest run`. Rounds alternate which executor goes first.
 * Target: total temporal / total local <= 1.10.
 *
 *   npm run build && node dist/bench/orchestration-overhead.js [--rounds N] [--concurrency N] [--slots N]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { BenchmarkOutcome } from '../activities/types';
import { readBenchmarkInput } from '../cli/spec-file';
import { autoCellsPerTask } from '../workflows/pipeline';
import { runBenchmarkLocally } from '../client/local-run';
import { startBenchmark } from '../client/temporal-run';
import { packageRoot } from '../core/package-root';
import { LocalArtifactStore } from '../core/store/local';
import { startDevServer } from '../infra/dev-server';
import { installWorkerLogging, withBenchmarkWorker } from '../workers/benchmark-worker';

function numericArg(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const rounds = numericArg('--rounds', 3);
const concurrency = numericArg('--concurrency', 4);

async function sweepSpec(dir: string): Promise<string> {
  const models = join(packageRoot(), 'examples', 'models');
  const path = join(dir, 'sweep.yaml');
  await writeFile(
    path,
    `apiVersion: tempest/v1
name: overhead-sweep
models:
  - { id: mlp, path: ${join(models, 'mnist-mlp.onnx')} }
  - { id: cnn, path: ${join(models, 'mnist-cnn.onnx')} }
dataset: { source: builtin, name: mnist, split: test }
perturbations:
  - { module: gaussian_noise, severities: [1, 2, 3, 4, 5] }
seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
execution: { concurrency: ${concurrency} }
`,
  );
  return path;
}

async function main(): Promise<void> {
  installWorkerLogging('WARN');
  const work = await mkdtemp(join(tmpdir(), 'tempest-bench-'));
  const input = await readBenchmarkInput(await sweepSpec(work));

  const serverStarted = performance.now();
  const server = await startDevServer({ stateDir: join(work, 'temporal') });
  const serverStartMs = performance.now() - serverStarted;
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });

  const slots = numericArg('--slots', Math.min(concurrency, availableParallelism()));
  const seconds = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return (performance.now() - started) / 1000;
  };
  const resultsHashes = new Set<string | undefined>();
  let cells = 0;

  /** `fresh`: the store must start empty (every cell computed); otherwise every cell must be a cache hit. */
  const checkOutcome = (outcome: BenchmarkOutcome, fresh: boolean) => {
    if (outcome.cells.cached !== (fresh ? 0 : outcome.cells.total)) {
      throw new Error(
        fresh ? 'bench stores must start empty' : 'a rerun on a warm store must only hit the cache',
      );
    }
    resultsHashes.add(outcome.results?.sha256);
    cells = outcome.cells.total;
  };
  const runLocal = (round: number, fresh = true) =>
    seconds(async () =>
      checkOutcome(
        await runBenchmarkLocally(input, new LocalArtifactStore(join(work, `local-${round}`))),
        fresh,
      ),
    );
  const runTemporal = (round: number, fresh = true) => {
    const taskQueue = `bench-${round}-${fresh ? 'fresh' : 'warm'}`;
    const store = new LocalArtifactStore(join(work, `temporal-${round}`));
    // The worker starts before the clock (as it is up before a sweep is submitted); the clock covers
    // submitting the workflow until its result.
    return withBenchmarkWorker(
      { address: server.address, namespace: 'default', taskQueue, store, maxConcurrentActivities: slots },
      (worker) =>
        worker.runUntil(
          seconds(async () => {
            const handle = await startBenchmark(client, input, { taskQueue, workflowId: taskQueue });
            checkOutcome(await handle.result(), fresh);
          }),
        ),
    );
  };

  const rows: { round: number; localS: number; temporalS: number }[] = [];
  let warm: { localS: number; temporalS: number } | undefined;
  try {
    for (let round = 1; round <= rounds; round++) {
      if (round % 2 === 1) {
        const localS = await runLocal(round);
        rows.push({ round, localS, temporalS: await runTemporal(round) });
      } else {
        const temporalS = await runTemporal(round);
        rows.push({ round, localS: await runLocal(round), temporalS });
      }
    }
    // Rerun on round 1's warm stores: every cell is a cache hit, so this is orchestration alone.
    warm = { localS: await runLocal(1, false), temporalS: await runTemporal(1, false) };
  } finally {
    await connection.close();
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
  if (resultsHashes.size !== 1) throw new Error('the executors disagree on results.json');
  if (!warm) throw new Error('the warm rerun did not run');

  console.log(
    `orchestration overhead: ${cells} cells of 1,996 digits, concurrency ${concurrency}, worker slots ${slots}, ` +
      `${autoCellsPerTask(cells, concurrency)} cells per activity; ` +
      `identical results.json from every run (sha256 ${[...resultsHashes][0]?.slice(0, 16)})`,
  );
  console.log(
    `embedded dev server start: ${(serverStartMs / 1000).toFixed(2)} s (paid once per 'tempest run', not included below)`,
  );
  for (const row of rows) {
    console.log(
      `round ${row.round}: local ${row.localS.toFixed(2)} s, temporal ${row.temporalS.toFixed(2)} s, ratio ${(row.temporalS / row.localS).toFixed(3)}`,
    );
  }
  const local = rows.reduce((sum, row) => sum + row.localS, 0);
  const temporal = rows.reduce((sum, row) => sum + row.temporalS, 0);
  console.log(
    `overall ratio temporal/local: ${(temporal / local).toFixed(3)} (target <= 1.10); ` +
      `overhead ${(((temporal - local) / rows.length / cells) * 1000).toFixed(1)} ms per cell`,
  );
  console.log(
    `orchestration alone (rerun, all ${cells} cells cache hits): local ${warm.localS.toFixed(2)} s, ` +
      `temporal ${warm.temporalS.toFixed(2)} s, ${(((warm.temporalS - warm.localS) / cells) * 1000).toFixed(1)} ms per cell`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
