import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runTempest, tempDir } from './helpers/cli';

describe('tempest replay', () => {
  it('fails with exit 1 when a history no longer matches the workflow code', async () => {
    const home = await tempDir('replay');
    const out = join(home, 'out');
    const run = await runTempest(
      ['run', 'examples/mnist-quick.yaml', '--executor', 'temporal', '--out', out],
      {
        TEMPEST_HOME: home,
      },
    );
    expect(run.code).toBe(0);
    // Rewrite the recorded history so that its first scheduled activity is one the code never schedules:
    // exactly what a non-deterministic change to the workflow would look like on replay.
    const history = JSON.parse(await readFile(join(out, 'history.json'), 'utf8')) as {
      events: { activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[];
    };
    const scheduled = history.events.find((event) => event.activityTaskScheduledEventAttributes);
    scheduled!.activityTaskScheduledEventAttributes!.activityType.name = 'someOtherActivity';
    const tampered = join(home, 'tampered.json');
    await writeFile(tampered, JSON.stringify(history));

    const replay = await runTempest(['replay', tampered]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toMatch(/FAILED .*tampered\.json: nondeterminism/);
  });
});

describe('recorded histories of released workflow versions', () => {
  it('all replay against the current workflow code', async () => {
    const replay = await runTempest(['replay', join(REPO_ROOT, 'test', 'histories')]);
    expect(replay.stdout).toMatch(/^ok {6}.*benchmark-workflow-v1-mnist-quick\.json$/m);
    // A sharded sweep (test/fixtures/specs/v2-sharded-sweep.yaml with shardsPerRun: 2): the parent's
    // first run (children, then continue-as-new), its final run, and one shard's child workflow.
    expect(
      replay.stdout.match(/^ok {6}.*tempest-sharded-sweep-[0-9a-f]{12}(-shard-0)?\.[0-9a-f-]{36}\.json$/gm),
    ).toHaveLength(3);
    expect(replay.code).toBe(0);
  });
});
