import { once } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killSpawnedTempests, REPO_ROOT, runTempest, spawnTempest, tempDir } from './helpers/cli';
import { useTestTemporal } from './helpers/temporal';

const SHARDED = join(REPO_ROOT, 'test', 'fixtures', 'specs', 'v2-sharded-sweep.yaml');
const ATTACK_QUEUE = join(REPO_ROOT, 'test', 'fixtures', 'specs', 'v2-attack-queue.yaml');

interface RunRecord {
  run: { workflowId: string; runId: string };
  cells: { index: number; key: string; cached: boolean; worker: string; attempt: number }[];
}
interface Results {
  cells: { index: number; condition: string }[];
}
const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

afterAll(killSpawnedTempests);

describe('a sweep larger than cellsPerShard', () => {
  // The server suggests continue-as-new after 20 events, so the parent workflow continues as new
  // on the server's word (not a count of ours) after about two shards.
  const testTemporal = useTestTemporal([
    '--dynamic-config-value',
    'limit.historyCount.suggestContinueAsNew=20',
  ]);

  it('runs as child workflows across continue-as-new, with the bytes of an in-process run', async () => {
    const { address } = testTemporal();
    const home = await tempDir('sharded');
    const env = { TEMPEST_HOME: home };
    const durable = await runTempest(
      [
        'run',
        SHARDED,
        '--address',
        address,
        '--worker',
        '--artifacts',
        join(home, 'a'),
        '--out',
        join(home, 't'),
      ],
      env,
    );
    expect(durable.code, durable.stderr).toBe(0);
    const local = await runTempest(
      ['run', SHARDED, '--executor', 'local', '--artifacts', join(home, 'b'), '--out', join(home, 'l')],
      env,
    );
    expect(local.code, local.stderr).toBe(0);
    expect(await readFile(join(home, 't', 'results.json'))).toEqual(
      await readFile(join(home, 'l', 'results.json')),
    );

    // Every cell computed exactly once, by one attempt, and recorded once.
    const record = await readJson<RunRecord>(join(home, 't', 'run.json'));
    expect(record.cells.map((cell) => cell.index)).toEqual(Array.from({ length: 31 }, (_, i) => i));
    expect(record.cells.filter((cell) => cell.cached || cell.attempt !== 1)).toEqual([]);

    // The histories: 4 shards and at least one earlier run of the parent, each short.
    const others = (await readdir(join(home, 't', 'histories'))).sort();
    const shards = others.filter((name) => name.startsWith(`${record.run.workflowId}-shard-`));
    const earlierRuns = others.filter((name) => name.startsWith(`${record.run.workflowId}.`));
    expect(shards).toHaveLength(4);
    expect(earlierRuns.length).toBeGreaterThanOrEqual(1);
    let largest = 0;
    for (const name of [join('..', 'history.json'), ...others]) {
      const history = await readJson<{ events: unknown[] }>(join(home, 't', 'histories', name));
      largest = Math.max(largest, history.events.length);
    }
    // A shard holds 8 cells in 8 activities: ~55 events. The whole sweep in one workflow would
    // hold 31 activities: ~190. Sharded, the largest history depends on the shard, not the sweep.
    expect(largest).toBeLessThan(100);
    console.log(
      `sharded sweep: 31 cells, ${shards.length} shards, ${earlierRuns.length + 1} parent runs, ` +
        `largest history ${largest} events (${(await stat(join(home, 't', 'history.json'))).size} bytes final run)`,
    );

    // verify replays every history (parent runs and shards) and re-executes cells.
    const verify = await runTempest(['verify', join(home, 't'), '--artifacts', join(home, 'a')], env);
    expect(verify.stdout).toMatch(/PASS {2}history replay/);
    expect(verify.code, verify.stdout).toBe(0);
  }, 240_000);
});

describe('execution.attackTaskQueue', () => {
  const testTemporal = useTestTemporal();

  it('sends attack cells to their own queue and its activities-only worker', async () => {
    const { address } = testTemporal();
    const home = await tempDir('attack-queue');
    const artifacts = join(home, 'artifacts');
    const worker = (args: string[]) =>
      spawnTempest(['worker', '--address', address, '--artifacts', artifacts, ...args], {
        TEMPEST_HOME: home,
      });
    const main = worker(['--task-queue', 'tempest-main-cells']);
    const attacks = worker(['--task-queue', 'tempest-attack-cells', '--activities-only']);
    try {
      const out = join(home, 'out');
      const run = await runTempest(
        [
          'run',
          ATTACK_QUEUE,
          '--address',
          address,
          '--task-queue',
          'tempest-main-cells',
          '--artifacts',
          artifacts,
          '--out',
          out,
        ],
        { TEMPEST_HOME: home },
      );
      expect(run.code, run.stderr).toBe(0);
      const record = await readJson<RunRecord>(join(out, 'run.json'));
      const results = await readJson<Results>(join(out, 'results.json'));
      const pidOf = (index: number) =>
        record.cells.find((cell) => cell.index === index)!.worker.split('@')[0];
      const isAttack = (condition: string) => condition.startsWith('fgsm/');
      const attackCells = results.cells.filter((cell) => isAttack(cell.condition));
      const otherCells = results.cells.filter((cell) => !isAttack(cell.condition));
      expect(attackCells).toHaveLength(2);
      expect(otherCells.length).toBeGreaterThanOrEqual(3);
      expect(new Set(attackCells.map((cell) => pidOf(cell.index)))).toEqual(new Set([String(attacks.pid)]));
      expect(new Set(otherCells.map((cell) => pidOf(cell.index)))).toEqual(new Set([String(main.pid)]));
    } finally {
      for (const child of [main, attacks]) child.kill('SIGTERM');
      await Promise.all([main, attacks].map((child) => once(child, 'exit')));
    }
  }, 240_000);
});
