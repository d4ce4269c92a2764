import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTempest, tempDir } from './helpers/cli';

const QUICK = 'examples/mnist-quick.yaml';
const QUICK_CELLS = 14;

describe('tempest run (embedded Temporal dev server + in-process worker)', () => {
  it('rejects an invalid spec with exit code 2, the field path, and starts nothing', async () => {
    const home = join(await tempDir('badspec'), 'home');
    const specDir = await tempDir('spec');
    const spec = join(specDir, 'bad.yaml');
    const text = (await readFile(QUICK, 'utf8')).replace('batchSize: 250', 'batchSize: -3');
    await import('node:fs/promises').then((fs) => fs.writeFile(spec, text));
    const result = await runTempest(['run', spec], { TEMPEST_HOME: home });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/execution\.batchSize: .*>=\s*1/);
    // Nothing was started: no server state, no artifact store.
    expect(existsSync(home)).toBe(false);
  });

  it('runs the quick example twice: equal results.json bytes, all cache hits the second time, replayable history', async () => {
    const home = await tempDir('home');
    const outA = join(home, 'A');
    const outB = join(home, 'B');

    const first = await runTempest(['run', QUICK, '--out', outA], { TEMPEST_HOME: home });
    expect(first.stderr + first.stdout).toContain('completed');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `completed: ${QUICK_CELLS}/${QUICK_CELLS} cells (${QUICK_CELLS} computed, 0 cache hits)`,
    );

    const second = await runTempest(['run', QUICK, '--out', outB], { TEMPEST_HOME: home });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      `completed: ${QUICK_CELLS}/${QUICK_CELLS} cells (0 computed, ${QUICK_CELLS} cache hits)`,
    );

    const resultsA = await readFile(join(outA, 'results.json'));
    expect(resultsA.equals(await readFile(join(outB, 'results.json')))).toBe(true);
    for (const name of ['report.md', 'provenance.json', 'history.json']) {
      expect(existsSync(join(outA, name))).toBe(true);
    }

    const results = JSON.parse(resultsA.toString()) as {
      cells: { model: string; condition: string; metrics: { accuracy: number } }[];
    };
    expect(results.cells).toHaveLength(QUICK_CELLS);
    const accuracyOf = (model: string, condition: string) =>
      results.cells.filter((cell) => cell.model === model && cell.condition === condition)[0].metrics
        .accuracy;
    // Real models on real digits: clean accuracy is high, and heavy noise costs the MLP accuracy.
    expect(accuracyOf('cnn', 'clean')).toBeGreaterThan(0.95);
    expect(accuracyOf('mlp', 'gaussian_noise/s5')).toBeLessThan(accuracyOf('mlp', 'clean'));

    const provenance = JSON.parse(await readFile(join(outA, 'provenance.json'), 'utf8')) as {
      run: { workflowId: string; runId: string; executor: string };
      models: { sha256: string }[];
      counts: { computed: number; reused: number };
    };
    expect(provenance.run.executor).toBe('temporal');
    expect(provenance.counts).toMatchObject({ computed: QUICK_CELLS, reused: 0 });

    const replay = await runTempest(['replay', outA]);
    expect(replay.stdout).toContain('ok ');
    expect(replay.code).toBe(0);

    const status = await runTempest(['status', provenance.run.workflowId], { TEMPEST_HOME: home });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('status: COMPLETED');
  });

  it('--executor local gives the same results.json bytes as the Temporal executor', async () => {
    const temporalHome = await tempDir('home-temporal');
    const localHome = await tempDir('home-local');
    const temporal = await runTempest(['run', QUICK, '--out', join(temporalHome, 'out')], {
      TEMPEST_HOME: temporalHome,
    });
    const local = await runTempest(['run', QUICK, '--executor', 'local', '--out', join(localHome, 'out')], {
      TEMPEST_HOME: localHome,
    });
    expect([temporal.code, local.code]).toEqual([0, 0]);
    expect(local.stdout).toContain(`${QUICK_CELLS} computed, 0 cache hits`);
    const a = await readFile(join(temporalHome, 'out', 'results.json'));
    const b = await readFile(join(localHome, 'out', 'results.json'));
    expect(a.equals(b)).toBe(true);
  });
});
