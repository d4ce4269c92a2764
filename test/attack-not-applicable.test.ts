import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackApplicability, gradientGap } from '../core/attack/applicability';
import { createOnnxModelOracle } from '../core/attack/gradient/oracle';
import { autoAttack } from '../core/attack/ensemble';
import { fgsm } from '../core/attack/pgd';
import { square } from '../core/attack/square';
import type { AttackContext } from '../core/attack/types';
import { TempestInputError } from '../core/errors';
import { sha256Hex } from '../core/hash';
import { buildLinearModel } from '../core/model/onnx-builder';
import type { BenchmarkResults, CellResult } from '../core/results';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { LocalArtifactStore } from '../core/store/local';
import { getJson } from '../core/store/json';
import { makeTensor } from '../core/tensor/tensor';
import { killSpawnedTempests, REPO_ROOT, runTempest, tempDir } from './helpers/cli';

afterAll(killSpawnedTempests);

const MLP = join(REPO_ROOT, 'examples', 'models', 'mnist-mlp.onnx');
const TABULAR = join(REPO_ROOT, 'examples', 'tabular');

/**
 * The MNIST MLP behind an input quantizer, x -> round(255 x) / 255: a common "defense" whose
 * Round has no gradient rule (its true derivative is zero almost everywhere). Same scores as the
 * MLP on 8-bit images, so its black-box cells must look like the MLP's.
 */
function quantizedMlp(): Uint8Array {
  const model = onnx.ModelProto.decode(readFileSync(MLP));
  const graph = model.graph as onnx.GraphProto;
  const input = graph.input[0].name!;
  for (const node of graph.node)
    node.input = (node.input ?? []).map((name) => (name === input ? 'dequantized' : name));
  const scalar = (name: string, value: number) =>
    onnx.TensorProto.fromObject({ name, dims: [], dataType: 1, floatData: [value] });
  graph.initializer.push(scalar('levels', 255));
  graph.node.unshift(
    onnx.NodeProto.fromObject({
      opType: 'Mul',
      name: 'quantize/scale',
      input: [input, 'levels'],
      output: ['scaled'],
    }),
    onnx.NodeProto.fromObject({
      opType: 'Round',
      name: 'quantize/round',
      input: ['scaled'],
      output: ['rounded'],
    }),
    onnx.NodeProto.fromObject({
      opType: 'Div',
      name: 'quantize/unscale',
      input: ['rounded', 'levels'],
      output: ['dequantized'],
    }),
  );
  return onnx.ModelProto.encode(model).finish();
}

describe('which attacks a model can undergo, decided by the gradient builder', () => {
  it('finds no gap for a differentiable model, and the op and node for one without a gradient rule', () => {
    expect(gradientGap(readFileSync(MLP))).toBeUndefined();
    const gap = gradientGap(quantizedMlp());
    expect(gap).toMatchObject({ needs: 'input-gradients', op: 'Round', node: 'quantize/round' });
    expect(gap?.domain).toBeUndefined();
    expect(gap?.reason).toMatch(/op Round \(node 'quantize\/round'\)/);
  });

  it.each([
    ['random-forest.onnx', 'TreeEnsembleClassifier'],
    ['linear-svc.onnx', 'LinearClassifier'],
  ])('names the ai.onnx.ml domain for %s (%s)', (file, opType) => {
    const gap = gradientGap(readFileSync(join(TABULAR, file)));
    expect(gap).toMatchObject({ op: opType, domain: 'ai.onnx.ml' });
    expect(gap?.reason).toMatch(/^ops from domain ai\.onnx\.ml have no gradient rule: op /);
  });

  it('marks white-box attacks (AutoAttack as a whole) not applicable, never black-box ones', async () => {
    const gap = gradientGap(quantizedMlp());
    expect(await attackApplicability(square, () => gap)).toBeUndefined();
    const whiteBox = await attackApplicability(fgsm, () => gap);
    expect(whiteBox).toMatchObject({ attack: 'fgsm', access: 'white-box', op: 'Round' });
    expect(whiteBox?.reason).toMatch(/^fgsm needs input gradients; no input gradient: op Round/);
    const ensemble = await attackApplicability(autoAttack, () => gap);
    expect(ensemble?.reason).toMatch(/AutoAttack is not run in part/);
    expect(ensemble?.reason).toContain('`- attack: square`');
    // A differentiable model: every attack applies.
    expect(await attackApplicability(fgsm, () => gradientGap(readFileSync(MLP)))).toBeUndefined();
  });
});

describe('Square on tabular samples [F]', () => {
  const context = (scope: string): AttackContext => ({
    streamFor: (index) => sampleStream(deriveKey({ scope }), index),
    firstSampleIndex: 0,
    bounds: { min: -10, max: 10 },
  });
  // 6 features, 3 classes; class c scores feature c minus feature c + 3.
  const weight = Array.from({ length: 6 }, (_, f) =>
    Array.from({ length: 3 }, (_, c) => (f === c ? 1 : f === c + 3 ? -1 : 0)),
  );

  it.each(['linf', 'l2'] as const)(
    'attacks one-row samples with windows of adjacent features (%s)',
    async (norm) => {
      const oracle = await createOnnxModelOracle(buildLinearModel(weight, [0, 0, 0]), {
        intraOpThreads: 1,
        interOpThreads: 1,
      });
      try {
        expect(oracle.sampleDims).toEqual([6]);
        // Each sample is class 0 by a margin of 0.2: within reach of epsilon 0.5 (both norms).
        const batch = makeTensor(
          [4, 6],
          Float32Array.from({ length: 24 }, (_, i) => (i % 6 === 0 ? 0.6 : i % 6 === 1 ? 0.4 : 0)),
        );
        const labels = new Int32Array(4);
        const params = square.params.parse({ norm, epsilon: 0.5, queryBudget: 100 });
        const result = await square.run(batch, labels, params, oracle, context(`square-${norm}`));
        const logits = await oracle.logits(result.adversarial);
        let fooled = 0;
        for (let i = 0; i < 4; i++) {
          const row = logits.subarray(i * 3, i * 3 + 3);
          if (row.indexOf(Math.max(...row)) !== 0) fooled++;
          const delta = result.adversarial.data
            .subarray(i * 6, i * 6 + 6)
            .map((value, k) => value - batch.data[i * 6 + k]);
          const size = norm === 'linf' ? Math.max(...delta.map(Math.abs)) : Math.hypot(...delta);
          expect(size).toBeLessThanOrEqual(0.5 + 1e-6);
          expect(result.queries[i]).toBeLessThanOrEqual(100);
        }
        expect(fooled).toBeGreaterThan(0);
      } finally {
        await oracle.release();
      }
    },
  );

  it('refuses samples that are neither images nor rows with a TempestInputError', async () => {
    const oracle = await createOnnxModelOracle(buildLinearModel(weight, [0, 0, 0]), {
      intraOpThreads: 1,
      interOpThreads: 1,
      sampleDims: [6],
    });
    try {
      const shaped = { ...oracle, sampleDims: [1, 1, 2, 3], logits: oracle.logits.bind(oracle) };
      const params = square.params.parse({ norm: 'linf', epsilon: 0.5, queryBudget: 10 });
      const attempt = square.run(
        makeTensor([1, 1, 1, 2, 3]),
        new Int32Array(1),
        params,
        shaped,
        context('bad'),
      );
      await expect(attempt).rejects.toBeInstanceOf(TempestInputError);
      await expect(attempt).rejects.toThrow(/\[1, 1, 2, 3\]: use simba or hop-skip-jump/);
    } finally {
      await oracle.release();
    }
  });
});

describe('a run with a model that has no input gradient', () => {
  let home: string;
  let specFile: string;
  let results: BenchmarkResults;
  let resultsBytes: Buffer;

  beforeAll(async () => {
    home = await tempDir('not-applicable');
    const quantized = quantizedMlp();
    await writeFile(join(home, 'quantized-mlp.onnx'), quantized);
    specFile = join(home, 'spec.yaml');
    await writeFile(
      specFile,
      `apiVersion: tempest/v2
name: not-applicable
models:
  - { id: mlp, path: ${MLP} }
  - { id: quantized, path: quantized-mlp.onnx, sha256: ${sha256Hex(quantized)} }
dataset: { source: builtin, name: mnist, split: test, samples: 60 }
clean: true
perturbations:
  - { module: gaussian_noise, version: 1.1.0, severities: [1] }
attacks:
  - { attack: fgsm, epsilons: [0.1] }
  - { attack: square, epsilons: [0.1], params: { norm: linf, queryBudget: 50 } }
seeds: [1]
statistics: { galleryExamples: 0 }
execution: { concurrency: 2, batchSize: 30 }
`,
    );
    const run = await runTempest(['run', specFile, '--executor', 'local', '--out', join(home, 'out')], {
      TEMPEST_HOME: home,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('(8 computed, 0 cache hits)');
    resultsBytes = await readFile(join(home, 'out', 'results.json'));
    results = JSON.parse(resultsBytes.toString('utf8')) as BenchmarkResults;
  }, 300_000);

  it('completes: fgsm on the quantized model is not applicable with the op and node, every other cell computed', () => {
    expect(results.notApplicable).toHaveLength(1);
    const [cell] = results.notApplicable!;
    expect(cell).toMatchObject({
      model: 'quantized',
      condition: 'fgsm/linf/eps=0.1',
      status: 'not-applicable',
      attack: 'fgsm',
      access: 'white-box',
      norm: 'linf',
      epsilon: 0.1,
      op: 'Round',
      node: 'quantize/round',
    });
    expect(cell.reason).toMatch(
      /^fgsm needs input gradients; no input gradient: op Round \(node 'quantize\/round'\)/,
    );
    const computed = results.cells.map((entry) => `${entry.model} ${entry.condition}`).sort();
    expect(computed).toEqual(
      [
        'mlp clean',
        'mlp fgsm/linf/eps=0.1',
        'mlp gaussian_noise/s1',
        'mlp square/linf/eps=0.1',
        'quantized clean',
        'quantized gaussian_noise/s1',
        'quantized square/linf/eps=0.1',
      ].sort(),
    );
    // Plan order is kept across both lists: every index once.
    const indices = [...results.cells.map((entry) => entry.index), cell.index].sort((a, b) => a - b);
    expect(indices).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps the not-applicable cell out of statistics, comparisons and curves', () => {
    const isIt = (model: string, condition: string) => model === 'quantized' && condition.startsWith('fgsm');
    expect(results.summary.some((row) => isIt(row.model, row.condition))).toBe(false);
    expect(results.evaluation!.cells.some((entry) => isIt(entry.model, entry.condition))).toBe(false);
    expect(
      results.evaluation!.comparisons.some(
        (comparison) =>
          isIt(comparison.a.model, comparison.a.condition) ||
          isIt(comparison.b.model, comparison.b.condition),
      ),
    ).toBe(false);
    const curves = results.attacks!.curves.map((curve) => `${curve.model} ${curve.attack}`).sort();
    expect(curves).toEqual(['mlp fgsm/linf', 'mlp square/linf', 'quantized square/linf']);
    // The quantizer barely changes the MLP: clean accuracy close, and Square still finds adversarials.
    const clean = (model: string) =>
      results.summary.find((row) => row.model === model && row.condition === 'clean')!;
    expect(Math.abs(clean('quantized').accuracy.mean - clean('mlp').accuracy.mean)).toBeLessThanOrEqual(0.05);
    const squareQuantized = results.attacks!.curves.find((curve) => curve.model === 'quantized')!.points[0];
    expect(squareQuantized.robustAccuracy).toBeLessThan(clean('quantized').accuracy.mean);
  });

  it('stores it as a cell result with the reason and an empty logits blob', async () => {
    const store = new LocalArtifactStore(join(home, 'artifacts'));
    const stored = await getJson<CellResult>(store, results.notApplicable![0].result);
    expect(stored.status).toBe('not-applicable');
    expect(stored.key).toBe(results.notApplicable![0].key);
    expect(stored.transform).toMatchObject({ kind: 'attack', module: 'fgsm', epsilon: 0.1 });
    expect((await store.getBlob(stored.logits.sha256)).length).toBe(stored.logits.size);
  });

  it('shows n/a with the reason in report.md and report.html', async () => {
    const report = await readFile(join(home, 'out', 'report.md'), 'utf8');
    expect(report).toMatch(
      /\| quantized \| fgsm\/linf \| white-box \| 0\.1 \| n\/a \| fgsm needs input gradients; .*quantize\/round/,
    );
    expect(report).toMatch(/\| fgsm\/linf\/eps=0\.1 \| \d+\.\d\d% \| n\/a \|/);
    expect(report).toMatch(/\| \d \| quantized \| fgsm\/linf\/eps=0\.1 \| – \| n\/a \| not applicable \|/);
    const html = await readFile(join(home, 'out', 'report.html'), 'utf8');
    expect(html).toContain('Attacks not applicable to a model (n/a), with the reason');
    expect(html).toContain(
      'fgsm needs input gradients; no input gradient: op Round (node &#39;quantize/round&#39;)',
    );
  });

  it('says so in gate output: a rule naming the attack fails, a wildcard rule marks it n/a', async () => {
    const policy = join(home, 'gate.yaml');
    await writeFile(
      policy,
      `apiVersion: tempest.gate/v1
rules:
  - { name: robust quantized, model: quantized, condition: fgsm/linf/eps=0.1, metric: accuracy, min: 0 }
  - { name: all of quantized, model: quantized, condition: "*", metric: accuracy, min: 0 }
`,
    );
    const gate = await runTempest(['gate', join(home, 'out'), '--policy', policy], { TEMPEST_HOME: home });
    expect(gate.code).toBe(1);
    expect(gate.stdout).toContain('## Tempest gate: FAILED');
    expect(gate.stdout).toMatch(
      /\| \*\*FAIL\*\* \| robust quantized \| not applicable: fgsm needs input gradients; .*the rule names this attack, so it fails/,
    );
    expect(gate.stdout).toMatch(
      /\| n\/a \| all of quantized: fgsm\/linf\/eps=0\.1 \| not applicable: .*not judged/,
    );
    expect(gate.stdout).toMatch(/\| pass \| all of quantized: clean \| accuracy = /);
  });

  it('reruns from the cache to identical bytes, and verify re-decides the cell to the same bytes', async () => {
    const again = await runTempest(['run', specFile, '--executor', 'local', '--out', join(home, 'again')], {
      TEMPEST_HOME: home,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('(0 computed, 8 cache hits)');
    expect(await readFile(join(home, 'again', 'results.json'))).toEqual(resultsBytes);
    const verify = await runTempest(['verify', join(home, 'out'), '--reexecute', '8'], {
      TEMPEST_HOME: home,
    });
    expect(verify.stdout).toMatch(
      /PASS {2}re-execution: 8 of 8 cells .* \(1 of them not applicable, with the same reason\)/,
    );
    expect(verify.code, verify.stdout).toBe(0);
  }, 300_000);

  it('runs on the Temporal path to the same results.json bytes, and its history replays', async () => {
    const temporalHome = await tempDir('not-applicable-temporal');
    await writeFile(join(temporalHome, 'quantized-mlp.onnx'), quantizedMlp());
    const spec = join(temporalHome, 'spec.yaml');
    await writeFile(spec, await readFile(specFile));
    const out = join(temporalHome, 'out');
    const run = await runTempest(['run', spec, '--out', out], { TEMPEST_HOME: temporalHome }, 300_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('completed: 8/8 cells');
    expect(await readFile(join(out, 'results.json'))).toEqual(resultsBytes);
    expect((await runTempest(['replay', out])).code).toBe(0);
  }, 360_000);
});
