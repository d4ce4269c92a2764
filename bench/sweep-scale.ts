/**
 * Sweep scale: wall time, worker memory and history sizes for sweeps of 10, 100, 1,000 and
 * 10,000 cheap cells (2 models x Gaussian noise at 5 severities x N/10 seeds, 16 digits a cell),
 * each on a fresh artifact store and a fresh `tempest worker` process whose memory is sampled
 * from /proc. Sweeps above `cellsPerShard` (500) run as child workflows; the parent continues as
 * new every 8 shards. Then the same 200-cell sweep of heavier cells (1,000 digits) with one worker
 * process and with two (one cell slot each): the speed-up ratio of adding a worker.
 *
 *   npm run build && node dist/bench/sweep-scale.js [--sizes 10,100,1000,10000] [--skip-workers]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { BenchmarkOutcome } from '../activities/types';
import { readBenchmarkInput } from '../cli/spec-file';
import { fetchRunHistories, startBenchmark, type BenchmarkHandle } from '../client/temporal-run';
import { packageRoot } from '../core/package-root';
import { startDevServer } from '../infra/dev-server';

const argValue = (name: string): string | undefined => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const sizes = (argValue('--sizes') ?? '10,100,1000,10000').split(',').map(Number);
const TEMPEST = join(packageRoot(), 'bin', 'tempest.js');

async function writeSpec(dir: string, name: string, cells: number, samples: number): Promise<string> {
  const models = join(packageRoot(), 'examples', 'models');
  const seeds = Array.from({ length: cells / 10 }, (_, i) => i + 1);
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    `apiVersion: tempest/v2
name: ${name}
models:
  - { id: mlp, path: ${join(models, 'mnist-mlp.onnx')} }
  - { id: cnn, path: ${join(models, 'mnist-cnn.onnx')} }
dataset: { source: builtin, name: mnist, split: test, samples: ${samples} }
clean: false
perturbations:
  - { module: gaussian_noise, severities: [1, 2, 3, 4, 5] }
seeds: [${seeds.join(', ')}]
statistics: { bootstrapResamples: 200, galleryExamples: 0 }
execution: { concurrency: 4, batchSize: ${samples}, shardsPerRun: 8 }
`,
  );
  return path;
}

/** Resident memory of a process from /proc: current and peak (high-water mark), in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

function startWorker(address: string, artifacts: string, slots: number): ChildProcess {
  return spawn(
    process.execPath,
    [
      TEMPEST,
      'worker',
      '--address',
      address,
      '--artifacts',
      artifacts,
      '--max-concurrent-cells',
      String(slots),
    ],
    // The worker logs at INFO; the run's outcome is what counts here.
    { stdio: 'ignore' },
  );
}

async function stopWorkers(workers: readonly ChildProcess[]): Promise<void> {
  for (const worker of workers) worker.kill('SIGTERM');
  await Promise.all(
    workers.filter((worker) => worker.exitCode === null).map((worker) => once(worker, 'exit')),
  );
}

/** Event count and JSON size of every workflow execution of a run, as the run folder keeps them. */
async function historySizes(handle: BenchmarkHandle, outcome: BenchmarkOutcome) {
  const { final, others } = await fetchRunHistories(handle, outcome);
  return [final, ...others.map((other) => other.json)].map((json) => ({
    events: (JSON.parse(json) as { events: unknown[] }).events.length,
    bytes: json.length,
  }));
}

async function runSweep(client: Client, address: string, spec: string, work: string, workerSlots: number[]) {
  const artifacts = join(work, `store-${Math.random().toString(36).slice(2)}`);
  const workers = workerSlots.map((slots) => startWorker(address, artifacts, slots));
  const samples: number[] = [];
  const sampler = setInterval(() => {
    try {
      samples.push(memoryOf(workers[0].pid!).rss);
    } catch {
      // the worker is still starting or already gone
    }
  }, 500);
  try {
    const input = await readBenchmarkInput(spec);
    const started = performance.now();
    const handle = await startBenchmark(client, input, { taskQueue: 'tempest-benchmarks' });
    const outcome = await handle.result();
    const seconds = (performance.now() - started) / 1000;
    const memory = memoryOf(workers[0].pid!);
    if (outcome.cells.done !== outcome.cells.total || outcome.cells.cached !== 0) {
      throw new Error(`expected every cell computed once on a fresh store: ${JSON.stringify(outcome.cells)}`);
    }
    return { outcome, seconds, memory, samples, handle };
  } finally {
    clearInterval(sampler);
    await stopWorkers(workers);
  }
}

const quartiles = (values: readonly number[]) =>
  [0.25, 0.5, 0.75, 1].map(
    (q) => values[Math.min(values.length - 1, Math.floor(q * (values.length - 1)))] ?? NaN,
  );

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tempest-sweep-scale-'));
  const server = await startDevServer({ stateDir: join(work, 'temporal') });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    console.log(`# Sweep scale (worker: tempest worker, 4 cell slots; cells of 16 digits)\n`);
    console.log(
      '| cells | wall s | ms / cell | worker peak RSS MiB | worker RSS at 25/50/75/100% of the run, MiB | executions | largest history (events, KiB) |',
    );
    console.log('|---:|---:|---:|---:|---|---:|---|');
    for (const cells of sizes) {
      const spec = await writeSpec(work, `scale-${cells}`, cells, 16);
      const run = await runSweep(client, server.address, spec, work, [4]);
      const histories = await historySizes(run.handle, run.outcome);
      const largest = histories.reduce((a, b) => (b.events > a.events ? b : a));
      console.log(
        `| ${cells} | ${run.seconds.toFixed(1)} | ${((run.seconds * 1000) / cells).toFixed(1)} | ${run.memory.peak.toFixed(0)} | ` +
          `${quartiles(run.samples)
            .map((value) => value.toFixed(0))
            .join(' / ')} | ${histories.length} | ${largest.events}, ${(largest.bytes / 1024).toFixed(0)} |`,
      );
    }

    if (!process.argv.includes('--skip-workers')) {
      console.log(`\n# Two workers against one (200 cells of 1,000 digits; one cell slot per worker)\n`);
      const spec = await writeSpec(work, 'workers-200', 200, 1000);
      const one = await runSweep(client, server.address, spec, work, [1]);
      const two = await runSweep(client, server.address, spec, work, [1, 1]);
      if (one.outcome.results?.sha256 !== two.outcome.results?.sha256) {
        throw new Error('one and two workers produced different results.json');
      }
      console.log(`one worker: ${one.seconds.toFixed(1)} s; two workers: ${two.seconds.toFixed(1)} s`);
      console.log(`speed-up (one / two): ${(one.seconds / two.seconds).toFixed(2)}x; results.json identical`);
    }
  } finally {
    await connection.close();
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
