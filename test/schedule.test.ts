import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchmarkOutcome } from '../activities/types';
import { scheduleSpecOf, scheduleWorkflowIdPrefix } from '../client/schedule';
import { BENCHMARK_WORKFLOW_TYPE } from '../client/temporal-run';
import { TempestInputError } from '../core/errors';
import { benchmarkWorkflow } from '../workflows/benchmark';
import { killSpawnedTempests, REPO_ROOT, runTempest, spawnTempest, tempDir } from './helpers/cli';
import { useTestTemporal, waitFor, writeExampleSpec } from './helpers/temporal';

// A benchmark that takes seconds: 100 digits, clean plus one noise severity, one seed.
const TINY_SPEC = `name: sched-tiny
dataset: { source: builtin, name: mnist, split: test, samples: 100 }
clean: true
perturbations:
  - { module: gaussian_noise, version: 1.1.0, severities: [1] }
seeds: [1]
execution: { concurrency: 2, batchSize: 100 }
`;

describe('schedule timing and names (no server)', () => {
  it('parses intervals and refuses what the server would reject later', () => {
    expect(scheduleSpecOf({ every: '5s' })).toEqual({ intervals: [{ every: 5000 }] });
    expect(scheduleSpecOf({ cron: '0 3 * * *' })).toEqual({ cronExpressions: ['0 3 * * *'] });
    expect(() => scheduleSpecOf({ every: '0s' })).toThrow(TempestInputError);
    expect(() => scheduleSpecOf({ every: 'often' })).toThrow(/at least 1s/);
    expect(() => scheduleSpecOf({ cron: '0 3' })).toThrow(/5 fields/);
  });

  it('names the workflow type callers start directly', () => {
    expect(BENCHMARK_WORKFLOW_TYPE).toBe(benchmarkWorkflow.name);
  });

  it('refuses bad input with exit 2 before connecting anywhere', async () => {
    const spec = await writeExampleSpec(TINY_SPEC);
    // 127.0.0.1:1 has no server: these must fail on the input, not on the connection.
    const noTiming = await runTempest([
      'schedule',
      'create',
      'x',
      '--spec',
      spec,
      '--address',
      '127.0.0.1:1',
    ]);
    expect(noTiming.code).toBe(2);
    expect(noTiming.stderr).toMatch(/--every/);
    const badName = await runTempest(['schedule', 'create', 'a b', '--spec', spec, '--every', '1h']);
    expect(badName.code).toBe(2);
    const badSpec = await runTempest([
      'schedule',
      'create',
      'x',
      '--spec',
      join(REPO_ROOT, 'package.json'),
      '--every',
      '1h',
      '--address',
      '127.0.0.1:1',
    ]);
    expect(badSpec.code).toBe(2);
  });
});

describe('tempest schedule against a dev server with a standalone worker', () => {
  const temporal = useTestTemporal();
  const taskQueue = `sched-${process.pid}`;
  let worker: ChildProcess | undefined;

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 15_000);
        worker?.once('exit', () => resolve(clearTimeout(timer)));
      });
    }
    killSpawnedTempests();
  });

  async function startWorker(address: string): Promise<void> {
    const artifacts = await tempDir('sched-artifacts');
    worker = spawnTempest([
      'worker',
      '--address',
      address,
      '--task-queue',
      taskQueue,
      '--artifacts',
      artifacts,
    ]);
    let output = '';
    worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      async () => (output.includes('polling') ? true : undefined),
      `the worker to poll:\n${output}`,
    );
  }

  const cli = (args: string[]) =>
    runTempest(['schedule', ...args, '--address', temporal().address], {}, 60_000);

  it('creates a schedule whose runs complete, lists, describes and deletes it', async () => {
    const { address, client } = temporal();
    await startWorker(address);
    const spec = await writeExampleSpec(TINY_SPEC);
    const name = 'tiny-every-5s';

    const created = await cli(['create', name, '--spec', spec, '--every', '5s', '--task-queue', taskQueue]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`schedule ${name}: sched-tiny every 5s`);
    const again = await cli(['create', name, '--spec', spec, '--every', '5s', '--task-queue', taskQueue]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);

    // The schedule's first action starts a workflow whose id carries the schedule's prefix.
    const workflowId = await waitFor(
      async () =>
        (await client.schedule.getHandle(name).describe()).info.recentActions[0]?.action.workflow.workflowId,
      'the schedule to start a run',
      30_000,
      500,
    );
    expect(workflowId.startsWith(`${scheduleWorkflowIdPrefix(name)}-`)).toBe(true);
    const outcome = (await client.workflow.getHandle(workflowId).result()) as BenchmarkOutcome;
    expect(outcome.status).toBe('completed');
    expect(outcome.cells).toMatchObject({ total: 4, done: 4 });
    const described = await client.workflow.getHandle(workflowId).describe();
    expect(described.type).toBe(BENCHMARK_WORKFLOW_TYPE);

    // Listing goes through the visibility store, which lags a little behind writes.
    const listed = await waitFor(
      async () => {
        const result = await cli(['list']);
        return result.code === 0 && result.stdout.includes(name) ? result : undefined;
      },
      'schedule list to show the schedule',
      30_000,
      500,
    );
    expect(listed.stdout).toMatch(new RegExp(`^${name}  active  next `, 'm'));

    const description = await cli(['describe', name]);
    expect(description.code).toBe(0);
    expect(description.stdout).toContain('when: every 5s');
    expect(description.stdout).toContain('overlap: SKIP');
    expect(description.stdout).toContain(workflowId);
    expect(description.stdout).toMatch(/next runs:\n {4}\d{4}-/);

    const deleted = await cli(['delete', name]);
    expect(deleted.code).toBe(0);
    await waitFor(
      async () => {
        const result = await cli(['list']);
        return result.code === 0 && !result.stdout.includes(name) ? true : undefined;
      },
      'schedule list to drop the deleted schedule',
      30_000,
      500,
    );
    const gone = await cli(['describe', name]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/no schedule "tiny-every-5s"/);
  });

  it('creates cron schedules paused, with the overlap policy asked for', async () => {
    const spec = await writeExampleSpec(TINY_SPEC);
    const name = 'tiny-nightly';
    const created = await cli([
      'create',
      name,
      '--spec',
      spec,
      '--cron',
      '0 3 * * *',
      '--pause',
      '--overlap',
      'buffer-one',
      '--task-queue',
      taskQueue,
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const description = await cli(['describe', name]);
    expect(description.stdout).toContain('state: paused (sched-tiny from spec.yaml, cron "0 3 * * *")');
    expect(description.stdout).toContain('overlap: BUFFER_ONE');
    expect(description.stdout).toMatch(/next runs:\n {4}\d{4}-\d\d-\d\dT03:00:00\.000Z/);
    expect((await cli(['delete', name])).code).toBe(0);
    const badCron = await cli(['create', 'bad-cron', '--spec', spec, '--cron', '99 * * * *']);
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toMatch(/--cron/);
  });

  it('examples/client/start-benchmark.ts starts a run with the plain Temporal client and prints it', async () => {
    const { address } = temporal();
    if (!worker) await startWorker(address);
    const spec = await writeExampleSpec(TINY_SPEC);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(
          join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
          [
            join(REPO_ROOT, 'examples', 'client', 'start-benchmark.ts'),
            spec,
            '--address',
            address,
            '--task-queue',
            taskQueue,
          ],
          { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`start-benchmark.ts did not finish in 90 s\n${stdout}\n${stderr}`));
        }, 90_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^started example-sched-tiny-/m);
    expect(result.stdout).toMatch(/^mlp {2}clean {2}accuracy \d+\.\d\d%$/m);
    expect(result.stdout).toMatch(/^completed: 4\/4 cells; results [0-9a-f]{64}$/m);
  });
});

describe('tempest schedule on the embedded dev server', () => {
  let worker: ChildProcess | undefined;

  afterAll(async () => {
    // SIGTERM first: the worker owns the embedded server it started and stops it on the way out.
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 20_000);
        worker?.once('exit', () => resolve(clearTimeout(timer)));
      });
    }
    killSpawnedTempests();
  });

  it('runs a schedule created without --address while `tempest worker --embedded` runs', async () => {
    const env = { TEMPEST_HOME: await tempDir('sched-home') };
    const spec = await writeExampleSpec(TINY_SPEC);
    const taskQueue = `sched-embedded-${process.pid}`;
    const cli = (args: string[]) => runTempest(args, env, 60_000);

    const created = await cli([
      'schedule',
      'create',
      'emb',
      '--spec',
      spec,
      '--every',
      '3s',
      '--task-queue',
      taskQueue,
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('tempest worker --embedded');

    worker = spawnTempest(['worker', '--embedded', '--task-queue', taskQueue], env);
    let output = '';
    worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      async () => (output.includes('polling') ? true : undefined),
      `the worker to poll:\n${output}`,
    );

    // A run the schedule started, finished by the worker, as `tempest status` shows it.
    const status = await waitFor(
      async () => {
        const described = await cli(['schedule', 'describe', 'emb']);
        const runs = described.stdout.match(/tempest-schedule-emb-\S+/g) ?? [];
        for (const run of runs.filter((id) => id !== 'tempest-schedule-emb-<time>')) {
          const result = await cli(['status', run]);
          if (result.stdout.includes('status: COMPLETED')) return result;
        }
        return undefined;
      },
      'a scheduled run to complete on the embedded server',
      60_000,
      1000,
    );
    expect(status.stdout).toMatch(/outcome: completed, 4 cells/);
    expect((await cli(['schedule', 'delete', 'emb'])).code).toBe(0);
  });
});
