import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchmarkResults } from '../core/results';
import { killSpawnedTempests, runTempest, tempDir } from './helpers/cli';

afterAll(killSpawnedTempests);

type Curve = NonNullable<BenchmarkResults['attacks']>['curves'][number];

describe('examples/mnist-attacks.yaml: attacks over several epsilons on both models', () => {
  let home: string;
  let results: BenchmarkResults;
  const curve = (model: string, attack: string): Curve => {
    const found = results.attacks?.curves.find((entry) => entry.model === model && entry.attack === attack);
    if (!found) throw new Error(`no curve ${model} ${attack}`);
    return found;
  };
  const robustAt = (model: string, attack: string, epsilon: number) =>
    curve(model, attack).points.find((point) => point.epsilon === epsilon)!.robustAccuracy;

  beforeAll(async () => {
    home = await tempDir('attacks');
    const run = await runTempest(
      ['run', 'examples/mnist-attacks.yaml', '--executor', 'local', '--out', join(home, 'out')],
      { TEMPEST_HOME: home },
    );
    expect(run.code).toBe(0);
    results = JSON.parse(await readFile(join(home, 'out', 'results.json'), 'utf8')) as BenchmarkResults;
  }, 400_000);

  it('draws a robustness curve per model and attack, non-increasing in epsilon, with intervals', () => {
    expect(results.attacks?.curves).toHaveLength(8);
    for (const entry of results.attacks?.curves ?? []) {
      for (let k = 1; k < entry.points.length; k++) {
        expect(entry.points[k].robustAccuracy).toBeLessThanOrEqual(entry.points[k - 1].robustAccuracy + 0.01);
      }
      for (const point of entry.points) {
        expect(point.lower).toBeLessThanOrEqual(point.robustAccuracy);
        expect(point.upper).toBeGreaterThanOrEqual(point.robustAccuracy);
      }
    }
    // PGD at Linf 0.1 breaks most of the MLP; the ensemble is at least as strong as PGD.
    const clean = results.summary.find((row) => row.model === 'mlp' && row.condition === 'clean')!.accuracy
      .mean;
    expect(clean).toBeGreaterThan(0.9);
    expect(robustAt('mlp', 'pgd/linf', 0.1)).toBeLessThan(0.5);
    expect(robustAt('mlp', 'pgd/linf', 0.3)).toBe(0);
    expect(robustAt('mlp', 'pgd/linf', 0.1)).toBeLessThanOrEqual(robustAt('mlp', 'fgsm/linf', 0.1));
    for (const model of ['mlp', 'cnn']) {
      for (const epsilon of [0.05, 0.1, 0.2]) {
        expect(robustAt(model, 'autoattack-standard/linf', epsilon)).toBeLessThanOrEqual(
          robustAt(model, 'pgd/linf', epsilon) + 0.005,
        );
      }
    }
    // The CNN is the more robust model at the same budget.
    expect(robustAt('cnn', 'pgd/linf', 0.1)).toBeGreaterThan(robustAt('mlp', 'pgd/linf', 0.1));
  });

  it('records access vector, queries within the budget and perturbations within epsilon; no masking warnings', () => {
    for (const model of ['mlp', 'cnn']) {
      const square = curve(model, 'square/linf');
      expect(square.access).toBe('score-based');
      for (const point of square.points) {
        expect(point.queries.max).toBeLessThanOrEqual(300);
        expect(point.meanLinf).toBeLessThanOrEqual(point.epsilon + 1e-6);
      }
      const pgd = curve(model, 'pgd/linf');
      expect(pgd.access).toBe('white-box');
      for (const point of pgd.points) {
        expect(point.zeroGradientFraction).toBe(0);
        expect(point.meanLinf).toBeLessThanOrEqual(point.epsilon + 1e-6);
      }
    }
    expect(results.attacks?.warnings).toEqual([]);
  });

  it('puts attacks into the report, the HTML panel and the evaluation (comparisons against clean)', async () => {
    const report = await readFile(join(home, 'out', 'report.md'), 'utf8');
    expect(report).toContain('## Adversarial robustness');
    expect(report).toMatch(/\| cnn \| square\/linf \| score-based \| 0\.1 \| 1 \| \d+\.\d\d% \|/);
    const html = await readFile(join(home, 'out', 'report.html'), 'utf8');
    expect(html).toContain('pgd/linf');
    expect(
      results.evaluation?.comparisons.some(
        (comparison) =>
          comparison.kind === 'condition-vs-clean' && comparison.b.condition === 'pgd/linf/eps=0.1',
      ),
    ).toBe(true);
  });

  it('reuses every attack cell on a rerun, with identical results.json bytes', async () => {
    const again = await runTempest(
      ['run', 'examples/mnist-attacks.yaml', '--executor', 'local', '--out', join(home, 'again')],
      { TEMPEST_HOME: home },
    );
    expect(again.stdout).toContain('(0 computed, 28 cache hits)');
    expect(await readFile(join(home, 'again', 'results.json'))).toEqual(
      await readFile(join(home, 'out', 'results.json')),
    );
  }, 120_000);
});

describe('attacks through the durable Temporal workflow and spec checks', () => {
  const spec = (attacks: string) => `apiVersion: tempest/v2
name: attack-mini
models:
  - { id: mlp, path: ${process.cwd()}/examples/models/mnist-mlp.onnx }
dataset: { source: builtin, name: mnist, split: test, samples: 60 }
clean: true
attacks:
${attacks}
seeds: [3]
`;

  it('runs PGD and HopSkipJump cells as activities and replays the history', async () => {
    const home = await tempDir('attack-temporal');
    const file = join(home, 'spec.yaml');
    await writeFile(
      file,
      spec(
        '  - { attack: pgd, epsilons: [0.1], params: { steps: 5 } }\n' +
          '  - { attack: hop-skip-jump, epsilons: [2], params: { queryBudget: 100 } }',
      ),
    );
    const run = await runTempest(['run', file, '--out', join(home, 'out')], { TEMPEST_HOME: home });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('completed: 3/3 cells');
    const results = JSON.parse(await readFile(join(home, 'out', 'results.json'), 'utf8')) as BenchmarkResults;
    const hsj = results.attacks?.curves.find((entry) => entry.attack === 'hop-skip-jump/l2');
    expect(hsj?.access).toBe('decision-based');
    expect(hsj?.points[0].queries.max).toBeLessThanOrEqual(100);
    expect(hsj?.points[0].meanL2).toBeLessThanOrEqual(2 + 1e-6);
    expect((await runTempest(['replay', join(home, 'out')])).code).toBe(0);
  }, 240_000);

  it('refuses an unknown attack or a bad parameter with exit 2, naming the field, before anything runs', async () => {
    const home = await tempDir('attack-bad');
    const unknown = join(home, 'unknown.yaml');
    await writeFile(unknown, spec('  - { attack: deepfool, epsilons: [0.1] }'));
    const first = await runTempest(['run', unknown, '--executor', 'local'], { TEMPEST_HOME: home });
    expect(first.code).toBe(2);
    expect(first.stderr).toContain('attacks[0].attack: unknown attack "deepfool"');
    const bad = join(home, 'bad.yaml');
    await writeFile(bad, spec('  - { attack: pgd, epsilons: [0.1], params: { steps: -2 } }'));
    const second = await runTempest(['run', bad, '--executor', 'local'], { TEMPEST_HOME: home });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/invalid parameters for attack pgd: attacks\[0\]\.params\.steps/);
  });
});
