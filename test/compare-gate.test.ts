import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTempest, tempDir } from './helpers/cli';

let home: string;
let out: string;
beforeAll(async () => {
  home = await tempDir('compare-gate');
  out = join(home, 'quick');
  const run = await runTempest(['run', 'examples/mnist-quick.yaml', '--executor', 'local', '--out', out], {
    TEMPEST_HOME: home,
  });
  expect(run.code).toBe(0);
}, 180_000);

describe('tempest compare', () => {
  it('compares the MLP and the CNN of the quick example: corrected p-values, effect sizes and intervals', async () => {
    const result = await runTempest(['compare', `${out}:mlp`, `${out}:cnn`], { TEMPEST_HOME: home });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('7 paired comparisons on 1000 samples each');
    expect(result.stdout).toContain(
      "| A | B | difference | 95% CI | Cohen's h | p (exact) | p adjusted | power | n for min. effect | verdict |",
    );
    expect(result.stdout).toMatch(
      /\| mlp gaussian_noise\/s5 \(seed 1\) \| cnn gaussian_noise\/s5 \(seed 1\) \| \+\d+\.\d\d \| \[\+\d+\.\d\d, \+\d+\.\d\d\] \| 0\.\d{3} \| .+ \| .+ \| 1\.00 \| \d+ \| relevant \|/,
    );
  });

  it('adds a seeded paired bootstrap of the accuracy and ECE differences, identical on a rerun', async () => {
    const json = join(home, 'bootstrap.md');
    const result = await runTempest(['compare', `${out}:mlp`, `${out}:cnn`, '--markdown', json], {
      TEMPEST_HOME: home,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Paired bootstrap (seeded BCa, 1000 resamples');
    const rows = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('| mlp ') && line.split('|').length === 10);
    expect(rows).toHaveLength(7);
    for (const row of rows) {
      const [accuracy, accuracyCi, eceA, eceB, ece, eceCi] = row
        .split('|')
        .slice(3, 9)
        .map((cell) => cell.trim());
      const bounds = (text: string) => text.replace(/[[\]]/g, '').split(', ').map(Number);
      // A bootstrap interval brackets its own estimate; ECE difference is B - A.
      const [low, high] = bounds(accuracyCi);
      expect(low).toBeLessThanOrEqual(Number(accuracy));
      expect(high).toBeGreaterThanOrEqual(Number(accuracy));
      expect(Number(ece)).toBeCloseTo(Number(eceB) - Number(eceA), 3);
      const [eceLow, eceHigh] = bounds(eceCi);
      expect(eceLow).toBeLessThanOrEqual(Number(ece));
      expect(eceHigh).toBeGreaterThanOrEqual(Number(ece));
    }
    // The big drop under severe noise is significant by the bootstrap as well as by McNemar.
    expect(rows.find((row) => row.includes('gaussian_noise/s5 (seed 1)'))).toMatch(/\| \[\+\d+\.\d\d, \+/);
    const again = await runTempest(['compare', `${out}:mlp`, `${out}:cnn`], { TEMPEST_HOME: home });
    expect(again.stdout).toBe(await readFile(json, 'utf8').then((text) => `${text}\n`));
  });

  it('refuses runs on different samples', async () => {
    const other = join(home, 'other');
    const spec = join(home, 'other.yaml');
    await writeFile(
      spec,
      (await readFile('examples/mnist-quick.yaml', 'utf8'))
        .replace('samples: 1000', 'samples: 500')
        .replace(/path: models\//g, `path: ${process.cwd()}/examples/models/`),
    );
    expect(
      (await runTempest(['run', spec, '--executor', 'local', '--out', other], { TEMPEST_HOME: home })).code,
    ).toBe(0);
    const result = await runTempest(['compare', out, other], { TEMPEST_HOME: home });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/evaluated different samples .* a paired comparison needs the same data/);

    // Different samples are what a meta-analysis pools: one effect per comparison across runs.
    const pooled = join(home, 'meta.json');
    const meta = await runTempest(['meta', out, other, '--json', pooled], { TEMPEST_HOME: home });
    expect(meta.code).toBe(0);
    expect(meta.stdout).toContain('10 effects pooled (DerSimonian-Laird)');
    const effects = JSON.parse(await readFile(pooled, 'utf8')) as {
      kind: string;
      a: string;
      b: string;
      runs: { estimate: number; variance: number }[];
      pooled: { estimate: number; lower: number; upper: number; tau2: number; i2: number; k: number };
    }[];
    const drop = effects.find((effect) => effect.a === 'mlp clean' && effect.b === 'mlp gaussian_noise/s5');
    expect(drop?.pooled.k).toBe(2);
    // Each run's effect is the mean over its two seeds of that run's own paired comparison.
    for (const [index, folder] of [out, other].entries()) {
      const results = JSON.parse(await readFile(join(folder, 'results.json'), 'utf8')) as {
        evaluation: {
          comparisons: {
            kind: string;
            a: { model: string; condition: string };
            b: { condition: string };
            difference: { estimate: number };
          }[];
        };
      };
      const own = results.evaluation.comparisons.filter(
        (c) =>
          c.kind === 'condition-vs-clean' && c.a.model === 'mlp' && c.b.condition === 'gaussian_noise/s5',
      );
      expect(own).toHaveLength(2);
      expect(drop?.runs[index].estimate).toBeCloseTo(
        (own[0].difference.estimate + own[1].difference.estimate) / 2,
        12,
      );
    }
    const estimates = drop?.runs.map((run) => run.estimate) ?? [];
    expect(drop?.pooled.estimate).toBeGreaterThanOrEqual(Math.min(...estimates));
    expect(drop?.pooled.estimate).toBeLessThanOrEqual(Math.max(...estimates));
    expect(drop?.pooled.upper).toBeLessThan(-0.15);
    for (const effect of effects) {
      expect(effect.pooled.tau2).toBeGreaterThanOrEqual(0);
      expect(effect.pooled.i2).toBeGreaterThanOrEqual(0);
      expect(effect.pooled.lower).toBeLessThanOrEqual(effect.pooled.estimate);
    }
    const single = await runTempest(['meta', out], { TEMPEST_HOME: home });
    expect(single.code).toBe(2);
    expect(single.stderr).toContain('a meta-analysis needs at least 2 runs, got 1');
  }, 120_000);
});

describe('tempest gate', () => {
  it('passes a satisfied policy (CI bound, calibration, no regression) with exit 0', async () => {
    const policy = join(home, 'pass.yaml');
    await writeFile(
      policy,
      `apiVersion: tempest.gate/v1
rules:
  - { model: cnn, condition: clean, metric: accuracy, use: lower, min: 0.95 }
  - { model: cnn, condition: "*", metric: ece, max: 0.1 }
regressions:
  - { baseline: quick, model: cnn, maxDrop: 0.01 }
`,
    );
    const result = await runTempest(['gate', out, '--policy', policy], { TEMPEST_HOME: home });
    expect(result.stdout).toContain('## Tempest gate: PASSED');
    expect(result.code).toBe(0);
  });

  it('fails a violated policy with exit 1 and writes a Markdown summary for a CI comment', async () => {
    const policy = join(home, 'fail.yaml');
    const summary = join(home, 'summary.md');
    await writeFile(
      policy,
      'apiVersion: tempest.gate/v1\nrules:\n  - { name: MLP robust, model: mlp, condition: gaussian_noise/s5, metric: accuracy, min: 0.9 }\n',
    );
    const result = await runTempest(['gate', out, '--policy', policy, '--summary', summary], {
      TEMPEST_HOME: home,
    });
    expect(result.code).toBe(1);
    const markdown = await readFile(summary, 'utf8');
    expect(markdown).toContain('## Tempest gate: FAILED');
    expect(markdown).toMatch(
      /\| \*\*FAIL\*\* \| MLP robust: gaussian_noise\/s5 seed 1 \| accuracy = 0\.\d{4}, required >= 0\.9 \|/,
    );
  });

  it('rejects a malformed policy with exit 2 and the field path', async () => {
    const policy = join(home, 'bad.yaml');
    await writeFile(
      policy,
      'apiVersion: tempest.gate/v1\nrules:\n  - { model: cnn, metric: speed, min: 1 }\n',
    );
    const result = await runTempest(['gate', out, '--policy', policy], { TEMPEST_HOME: home });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('rules[0].metric');
  });
});

describe('tempest power', () => {
  it("plans sample sizes: R's power.prop.test(p1 = 0.5, p2 = 0.75, power = 0.9) needs 76.65 -> 77 per group", async () => {
    const result = await runTempest([
      'power',
      '--accuracy',
      '0.75',
      '--min-effect',
      '0.25',
      '--power',
      '0.9',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('| independent samples (Fleiss) | 77 per group | – |');
  });

  it('reports the paired design and the power of a given sample count; refuses impossible targets', async () => {
    const result = await runTempest([
      'power',
      ...['--accuracy', '0.95', '--min-effect', '0.02', '--discordance', '0.06', '--samples', '1000'],
    ]);
    expect(result.code).toBe(0);
    // Pairing the samples needs far fewer than two independent test sets.
    const paired = Number(/paired \(Connor\), discordance 0\.06 \| (\d+) samples/.exec(result.stdout)?.[1]);
    const unpaired = Number(/\(Fleiss\) \| (\d+) per group/.exec(result.stdout)?.[1]);
    expect(paired).toBeGreaterThan(0);
    expect(paired).toBeLessThan(unpaired);
    const bad = await runTempest(['power', '--accuracy', '0.1', '--min-effect', '0.2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('must stay inside (0, 1)');
  });
});
