/**
 * The `serving:` section of a v2 spec: parsing, the batching-consistency computation on a real
 * model with real ORT, and `tempest run` end to end (latency budget met, and impossible).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { sha256Hex } from '../core/hash';
import { ModelRunner } from '../core/model/runner';
import { batchingConsistency } from '../core/serving/consistency';
import type { ServingReport } from '../core/serving/run';
import { argmaxRows, sliceSamples } from '../core/tensor/tensor';
import { loadSpecText, SpecError } from '../spec';
import { killSpawnedTempests, REPO_ROOT, runTempest, tempDir } from './helpers/cli';
import { readBenchmarkInput } from '../cli/spec-file';

afterAll(killSpawnedTempests);

const MODELS = join(REPO_ROOT, 'examples', 'models');

/** An example model loaded in a one-thread runner (deterministic), handed to `use`; closed after. */
async function withExampleModel(
  id: 'mlp' | 'cnn',
  use: (runner: ModelRunner, model: Awaited<ReturnType<ModelRunner['load']>>) => Promise<void>,
): Promise<void> {
  const runner = new ModelRunner({ intraOpThreads: 1, interOpThreads: 1 });
  try {
    const bytes = await readFile(join(MODELS, `mnist-${id}.onnx`));
    await use(runner, await runner.load(sha256Hex(bytes), async () => bytes, id));
  } finally {
    await runner.close();
  }
}

const specText = (serving: string, extra = '') => `apiVersion: tempest/v2
name: serving-test
models:
  - { id: mlp, path: ${join(MODELS, 'mnist-mlp.onnx')} }
  - { id: cnn, path: ${join(MODELS, 'mnist-cnn.onnx')} }
dataset: { source: builtin, name: mnist, split: test, samples: 200 }
perturbations:
  - { module: gaussian_noise, severities: [3] }
execution: { concurrency: 2, batchSize: 50 }
${extra}${serving}`;

const problemsOf = (text: string): string[] => {
  try {
    loadSpecText(text, 'spec.yaml');
  } catch (error) {
    if (error instanceof SpecError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
};

describe('spec v2 serving section', () => {
  it('is optional: a spec without it parses as before, with no serving key (same spec hash)', () => {
    const spec = loadSpecText(specText(''), 'spec.yaml');
    expect('serving' in spec).toBe(false);
  });

  it('fills in the defaults', () => {
    const spec = loadSpecText(specText('serving: {}\n'), 'spec.yaml');
    expect(spec.serving).toEqual({
      batchSizes: [1, 8, 32],
      concurrency: [1, 2],
      arrivals: { kind: 'poisson', ratePerSecond: 500 },
      requests: 20_000,
      seed: 0,
      conditions: ['clean'],
    });
    const bursty = loadSpecText(
      specText(
        'serving:\n  arrivals: { kind: bursty, ratePerSecond: 100 }\n  latencyBudget: { p99Ms: 20 }\n',
      ),
      'spec.yaml',
    );
    expect(bursty.serving?.arrivals).toEqual({ kind: 'bursty', ratePerSecond: 100, burstSize: 16 });
    expect(bursty.serving?.latencyBudget).toEqual({ p99Ms: 20 });
  });

  it('names the field of every bad value', () => {
    const cases: [string, RegExp][] = [
      ['serving: { batchSizes: [0] }', /^serving\.batchSizes\[0\]: .*>=\s*1/],
      ['serving: { batchSizes: [8, 8] }', /^serving\.batchSizes: batch sizes must be distinct/],
      [
        'serving: { batchSizes: [512] }',
        /^serving\.batchSizes: batch size 512 is larger than dataset\.samples \(200\)/,
      ],
      ['serving: { concurrency: [] }', /^serving\.concurrency: list at least one instance count/],
      ['serving: { arrivals: { kind: poisson, ratePerSecond: -5 } }', /^serving\.arrivals\.ratePerSecond: /],
      ['serving: { arrivals: { kind: uniform, ratePerSecond: 5 } }', /^serving\.arrivals\.kind: /],
      [
        'serving: { arrivals: { kind: poisson, ratePerSecond: 5, burstSize: 4 } }',
        /^serving\.arrivals: .*burstSize/,
      ],
      [
        'serving: { arrivals: { kind: bursty, ratePerSecond: 5, burstSize: 0 } }',
        /^serving\.arrivals\.burstSize: /,
      ],
      ['serving: { requests: 10 }', /^serving\.requests: .*>=\s*100/],
      ['serving: { latencyBudget: {} }', /^serving\.latencyBudget\.p99Ms: /],
      ['serving: { latencyBudget: { p99Ms: 0 } }', /^serving\.latencyBudget\.p99Ms: .*>\s*0/],
      ['serving: { latencyBudget: { p99Ms: 5, p95Ms: -1 } }', /^serving\.latencyBudget\.p95Ms: /],
      ['serving: { batchsizes: [1] }', /^serving: .*batchsizes/],
    ];
    for (const [serving, expected] of cases) {
      const problems = problemsOf(specText(`${serving}\n`));
      expect(problems, serving).toHaveLength(1);
      expect(problems[0], serving).toMatch(expected);
    }
  });

  it('checks serving.conditions against the conditions the spec defines, before anything runs', async () => {
    const dir = await tempDir('serving-spec');
    const file = join(dir, 'spec.yaml');
    await writeFile(file, specText('serving: { conditions: [clean, gaussian_noise/s3] }\n'));
    expect((await readBenchmarkInput(file)).spec.serving?.conditions).toEqual(['clean', 'gaussian_noise/s3']);
    await writeFile(file, specText('serving: { conditions: [clean, gaussian_noise/s4] }\n'));
    await expect(readBenchmarkInput(file)).rejects.toThrow(
      /serving\.conditions\[1\]: "gaussian_noise\/s4" is not a clean or perturbed condition/,
    );
  });
});

describe('predictions under serving batch sizes (real ORT)', () => {
  it('equals a direct recomputation batch by batch: accuracy at each size and the changed predictions', async () => {
    await withExampleModel('mlp', async (runner, model) => {
      const data = loadMnist('test', 300);
      // 300 is not a multiple of 7 or 32: the last batch is partial, as a server would see it.
      const consistency = () =>
        batchingConsistency({
          runner,
          model,
          modelId: 'mlp',
          condition: 'clean',
          data,
          referenceBatchSize: 100,
          batchSizes: [1, 7, 32],
        });
      const rows = await consistency();

      // Recompute directly: session runs over explicit slices, argmax, compare.
      const predictionsAt = async (size: number) => {
        const predicted: number[] = [];
        for (let start = 0; start < 300; start += size) {
          const batch = sliceSamples(data.inputs, start, Math.min(300, start + size));
          const { values, classes } = await runner.predictBatch(model, batch);
          predicted.push(...argmaxRows(values, batch.dims[0], classes));
        }
        return predicted;
      };
      const reference = await predictionsAt(100);
      const accuracy = (predicted: number[]) =>
        predicted.filter((p, i) => p === data.labels[i]).length / data.labels.length;
      expect(rows.map((row) => row.batchSize)).toEqual([1, 7, 32]);
      for (const row of rows) {
        const predicted = await predictionsAt(row.batchSize);
        const flips = predicted.filter((p, i) => p !== reference[i]).length;
        expect(row).toMatchObject({
          model: 'mlp',
          condition: 'clean',
          referenceBatchSize: 100,
          samples: 300,
          flips,
          flipRate: flips / 300,
          accuracy: accuracy(predicted),
          referenceAccuracy: accuracy(reference),
        });
        expect(Number.isInteger(row.flips) && row.flips >= 0).toBe(true);
        expect(row.maxScoreDifference).toBeGreaterThanOrEqual(0);
        // A real classifier: the accuracy is that of a trained model, not chance.
        expect(row.accuracy).toBeGreaterThan(0.8);
      }
      // Deterministic: the same computation again gives the same figures.
      expect(await consistency()).toEqual(rows);
    });
  });
  it('counts what batching changes: a batch-size-dependent input change shows as flips and score differences', async () => {
    // The served models above change nothing between batch sizes, so prove the counter can see a
    // change: an input path that differs only for single-sample batches (as a server's padding or
    // preprocessing bug would) must show up at batch 1 and nowhere else.
    await withExampleModel('cnn', async (runner, model) => {
      const data = loadMnist('test', 64);
      const rows = await batchingConsistency({
        runner,
        model,
        modelId: 'cnn',
        condition: 'clean',
        data,
        referenceBatchSize: 64,
        batchSizes: [1, 8],
        transform: (batch) =>
          batch.dims[0] === 1 ? { dims: batch.dims, data: batch.data.map((v) => 1 - v) } : batch,
      });
      const [single, eight] = rows;
      expect(single.flips).toBeGreaterThan(0);
      expect(single.maxScoreDifference).toBeGreaterThan(0);
      expect(single.accuracy).toBeLessThan(single.referenceAccuracy);
      expect(eight.flips).toBe(0);
    });
  });
});

describe('tempest run with a serving section (local executor)', () => {
  const serving = (budget: string) =>
    `serving:
  batchSizes: [1, 8, 32]
  concurrency: [1, 2]
  arrivals: { kind: poisson, ratePerSecond: 200 }
  requests: 2000
  conditions: ['*']
  latencyBudget: ${budget}
`;

  it('meets a generous budget: exit 0, serving.json (computed and measured halves), report sections, verify passes', async () => {
    const home = await tempDir('serving-run');
    const spec = join(home, 'spec.yaml');
    await writeFile(spec, specText(serving('{ p99Ms: 10000, p95Ms: 10000 }')));
    const out = join(home, 'out');
    const result = await runTempest(['run', spec, '--executor', 'local', '--out', out], {
      TEMPEST_HOME: home,
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('## Serving latency budget: PASSED');

    const report = JSON.parse(await readFile(join(out, 'serving.json'), 'utf8')) as ServingReport;
    expect(report.consistency.deterministic).toBe(true);
    expect(report.latency.measured).toBe(true);
    // 2 models x (clean + gaussian_noise/s3) x 3 batch sizes.
    expect(report.consistency.rows).toHaveLength(12);
    for (const row of report.consistency.rows) {
      expect(row.samples).toBe(200);
      expect(row.flips).toBeGreaterThanOrEqual(0);
      expect(row.referenceBatchSize).toBe(50);
    }
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as {
      summary: { model: string; condition: string; accuracy: { mean: number } }[];
    };
    // The reference predictions (at execution.batchSize) are the run's own: same accuracy as its
    // cells (one seed); with no changed predictions, so is the accuracy at the serving size.
    for (const row of report.consistency.rows) {
      const evaluated = results.summary.find((s) => s.model === row.model && s.condition === row.condition);
      expect(row.referenceAccuracy).toBe(evaluated?.accuracy.mean);
      if (row.flips === 0) expect(row.accuracy).toBe(row.referenceAccuracy);
    }
    expect(report.latency.models.map((m) => m.model)).toEqual(['mlp', 'cnn']);
    for (const model of report.latency.models) {
      expect(model.configurations).toHaveLength(6);
      expect(model.verdict?.passed).toBe(true);
      expect(model.best.stats.p99Ms).toBeGreaterThan(0);
    }

    const markdown = await readFile(join(out, 'report.md'), 'utf8');
    expect(markdown).toContain('## Serving');
    expect(markdown).toMatch(/\| mlp \| `gaussian_noise\/s3` \| 8 \| [\d.]+% \| [\d.]+% \| \d+ of 200 \|/);
    expect(markdown).toContain('Latency budget (p99 <= 10000 ms, p95 <= 10000 ms): **met** by cnn.');
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('<section id="serving"');
    expect(await readFile(join(out, 'gate.md'), 'utf8')).toContain('Serving latency budget: PASSED');
    expect(await readFile(join(out, 'SHA256SUMS'), 'utf8')).toMatch(/ {2}serving\.json\n/);

    // The appended section does not break the stored report's check; the measured latency is not
    // compared, the computed consistency is recomputed to the same figures.
    const verify = await runTempest(['verify', out, '--reexecute', '1', '--no-replay'], {
      TEMPEST_HOME: home,
    });
    expect(verify.stdout).toContain('PASS  artifacts:');
    expect(verify.stdout).toMatch(/PASS {2}serving consistency: 12 \(model, condition, batch size\) rows/);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    // The marker does not open a loophole: an edit above it is still a different stored report.
    await writeFile(join(out, 'report.md'), markdown.replace('# Tempest report', '# Tempest repor7'));
    const tampered = await runTempest(['verify', out, '--reexecute', '0', '--no-replay'], {
      TEMPEST_HOME: home,
    });
    expect(tampered.stdout).toMatch(/FAIL {2}artifacts: .*report\.md differs from artifact/);
    expect(tampered.code).toBe(1);
  });

  it('fails an impossible budget: exit 1 naming the budget, the best p99 and what to try; merged with the inline gate', async () => {
    const home = await tempDir('serving-fail');
    const spec = join(home, 'spec.yaml');
    await writeFile(
      spec,
      specText(serving('{ p99Ms: 0.001 }'), 'gate:\n  rules: [{ model: mlp, metric: accuracy, min: 0.5 }]\n'),
    );
    const out = join(home, 'out');
    const result = await runTempest(['run', spec, '--executor', 'local', '--out', out], {
      TEMPEST_HOME: home,
    });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /no configuration keeps p99 within 0\.001 ms \(best: max batch \d+, \d instance\(s\), p99 [\d.]+ ms/,
    );
    expect(result.stdout).toContain('try more instances, a smaller max batch, or a lower arrival rate');
    const gate = await readFile(join(out, 'gate.md'), 'utf8');
    expect(gate).toContain('## Tempest gate: PASSED');
    expect(gate).toContain('## Serving latency budget: FAILED');
    expect(existsSync(join(out, 'serving.json'))).toBe(true);
  });
});
