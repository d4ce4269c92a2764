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
