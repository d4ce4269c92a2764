import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import {
  gradientMaskingWarnings,
  zeroGradientFraction,
  type EpsilonResult,
} from '../core/attack/guard-rails';
import { lossesFromLogits } from '../core/attack/losses';
import { lossThresholdAttack } from '../core/attack/membership';
import {
  ascentDirection,
  distance,
  projectInPlace,
  randomStartInPlace,
  withinEpsilon,
} from '../core/attack/norms';
import { createFiniteDifferenceOracle, createOrtLogitsOracle } from '../core/attack/oracle';
import { BUILTIN_ATTACKS, attackByName } from '../core/attack/registry';
import { pgd } from '../core/attack/pgd';
import { square } from '../core/attack/square';
import {
  AttackValidityError,
  checkAdversarialValidity,
  summarizeAttack,
  summarizeWithModel,
} from '../core/attack/summary';
import { loadMnist } from '../core/data/mnist';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { TempestInputError } from '../core/errors';
import { makeTensor } from '../core/tensor/tensor';

const settings = { intraOpThreads: 1, interOpThreads: 1 };
const bounds = { min: 0, max: 1 };
const mlpBytes = () => readFileSync(join(__dirname, '..', 'examples', 'models', 'mnist-mlp.onnx'));

describe('attack summary', () => {
  // Four 2-pixel samples, 3 classes; labels 0, 1, 2, 0.
  const clean = makeTensor([4, 2], Float32Array.from([0.5, 0.5, 0.2, 0.8, 0.9, 0.1, 0, 1]));
  const labels = Int32Array.of(0, 1, 2, 0);
  // Clean predictions 0, 1, 2, 1 (sample 3 is a clean error); adversarial 0, 2, 1, 1.
  const cleanLogits = Float32Array.from([3, 1, 0, 0, 2, 1, 0, 0, 5, 1, 2, 0]);
  const adversarialLogits = Float32Array.from([3, 1, 0, 0, 1, 2, 0, 4, 1, 1, 2, 0]);

  it('counts success only on clean-correct samples and reports robust accuracy over all', () => {
    const adversarial = makeTensor([4, 2], Float32Array.from([0.5, 0.5, 0.25, 0.75, 0.85, 0.15, 0, 1]));
    const summary = summarizeAttack({
      clean,
      adversarial,
      labels,
      cleanLogits,
      adversarialLogits,
      classes: 3,
      queries: Uint32Array.of(10, 4, 7, 1),
      norm: 'linf',
      epsilon: 0.05,
      bounds,
    });
    expect(summary.cleanAccuracy).toBe(0.75);
    expect(summary.attackable).toBe(3);
    expect([...summary.success]).toEqual([0, 1, 1, 0]);
    expect(summary.successRate).toBeCloseTo(2 / 3, 12);
    expect(summary.robustAccuracy).toBe(0.25);
    expect(summary.predictionChangeRate).toBe(0.5);
    expect(summary.queries).toEqual({ mean: 5.5, median: 5.5, max: 10 });
    expect(summary.perturbation.linf.max).toBeCloseTo(0.05, 6);
    expect(summary.perturbation.l2.mean).toBeCloseTo(Math.sqrt(2) * 0.05, 6);
  });

  it('targeted success means reaching the target', () => {
    const summary = summarizeAttack({
      clean,
      adversarial: clean,
      labels,
      cleanLogits,
      adversarialLogits,
      classes: 3,
      queries: new Uint32Array(4),
      norm: 'l2',
      epsilon: 0,
      bounds,
      targets: Int32Array.of(1, 0, 1, 2),
    });
    expect([...summary.success]).toEqual([0, 0, 1, 0]);
  });

  it('refuses adversarials outside the eps-ball or the bounds, or NaN', () => {
    const outside = makeTensor([4, 2], Float32Array.from([0.5, 0.5, 0.2, 0.8, 0.9, 0.2, 0, 1]));
    expect(() => checkAdversarialValidity(clean, outside, 'linf', 0.05, bounds)).toThrow(AttackValidityError);
    expect(() => checkAdversarialValidity(clean, outside, 'linf', 0.05, bounds)).toThrow(
      /sample 2: linf distance 0.1\d* > eps 0.05/,
    );
    const outOfBounds = makeTensor([4, 2], Float32Array.from([0.5, 0.5, 0.2, 0.8, 0.9, 0.1, 0, 1.01]));
    expect(() => checkAdversarialValidity(clean, outOfBounds, 'l2', 0.1, bounds)).toThrow(
      /sample 3: values outside/,
    );
    const nan = makeTensor([4, 2], Float32Array.from([NaN, 0.5, 0.2, 0.8, 0.9, 0.1, 0, 1]));
    expect(() => checkAdversarialValidity(clean, nan, 'l2', 1, bounds)).toThrow(/sample 0: NaN/);
    // Float32 rounding of x + eps is tolerated.
    const edge = makeTensor([4, 2], Float32Array.from([0.55, 0.45, 0.2, 0.8, 0.9, 0.1, 0, 1]));
    expect(() => checkAdversarialValidity(clean, edge, 'linf', 0.05, bounds)).not.toThrow();
  });
});

describe('Lp geometry', () => {
  const stream = sampleStream(deriveKey({ test: 'norms' }), 0);
  const clean = Float32Array.from({ length: 50 }, (_, i) => (i % 5) / 4);

  it('projects onto the eps-ball intersected with the bounds', () => {
    const far = Float32Array.from(clean, (value, i) => value + (i % 2 ? 3 : -3));
    for (const norm of ['linf', 'l2'] as const) {
      const point = far.slice();
      projectInPlace(point, clean, norm, 0.5, bounds);
      expect(distance(point, clean, norm)).toBeLessThanOrEqual(0.5 + 1e-6);
      expect(point.every((value) => value >= 0 && value <= 1)).toBe(true);
    }
    const inside = Float32Array.from(clean, (value) => Math.min(1, value + 0.01));
    const kept = inside.slice();
    projectInPlace(kept, clean, 'l2', 1, bounds);
    expect(kept).toEqual(inside);
  });

  it('draws random starts inside the ball and takes unit steepest-ascent steps', () => {
    for (const norm of ['linf', 'l2'] as const) {
      for (let draw = 0; draw < 50; draw++) {
        const point = new Float32Array(clean.length);
        randomStartInPlace(point, clean, norm, 0.3, bounds, stream);
        expect(withinEpsilon(distance(point, clean, norm), 0.3)).toBe(true);
      }
    }
    const direction = ascentDirection([3, -4, 0], 'l2', new Float64Array(3));
    expect([...direction]).toEqual([0.6, -0.8, 0]);
    expect([...ascentDirection([3, -4, 0], 'linf', new Float64Array(3))]).toEqual([1, -1, 0]);
  });
});

describe('gradient-masking guard rails', () => {
  const curve = (attack: string, access: EpsilonResult['access'], values: number[]): EpsilonResult[] =>
    [0, 0.1, 0.2, 0.3, 0.5].map((epsilon, k) => ({
      attack,
      access,
      norm: 'linf',
      epsilon,
      robustAccuracy: values[k],
    }));

  it('stays quiet on a normal evaluation', () => {
    const results = [
      ...curve('pgd', 'white-box', [0.98, 0.4, 0.05, 0, 0]),
      ...curve('square', 'score-based', [0.98, 0.6, 0.2, 0.02, 0]),
    ];
    expect(gradientMaskingWarnings(results, { zeroGradientFraction: 0 })).toEqual([]);
  });

  it('fires on non-monotone curves, a stronger black-box attack, survival at huge eps and zero gradients', () => {
    const results = [
      ...curve('pgd', 'white-box', [0.98, 0.7, 0.75, 0.7, 0.6]),
      ...curve('square', 'score-based', [0.98, 0.3, 0.1, 0, 0]),
    ];
    const warnings = gradientMaskingWarnings(results, { zeroGradientFraction: 0.5 });
    const codes = warnings.map((warning) => warning.code);
    expect(codes.filter((code) => code === 'non-monotone')).toHaveLength(1);
    expect(codes.filter((code) => code === 'black-box-stronger')).toHaveLength(4);
    expect(codes).toContain('large-epsilon-not-broken');
    expect(codes).toContain('zero-gradients');
    expect(warnings[0].message).toMatch(
      /pgd\/linf: robust accuracy rises from 70.0% at eps 0.1 to 75.0% at eps 0.2/,
    );
    for (const warning of warnings) expect(warning.message.length).toBeGreaterThan(20);
  });

  it('fire on a real input-quantising "defence" of the MLP and stay quiet on the plain MLP', async () => {
    const count = 20;
    const digits = loadMnist('test', count);
    const epsilon = 0.2;
    // The example MLP behind x -> Round(s x) / s: piecewise constant, a shattered-gradient
    // "defence" (Athalye et al. 2018, sec. 4.1). With s = 255 / 63 the rounding steps fall
    // halfway between 8-bit pixel levels, farther from every digit pixel than the
    // finite-difference step, so the gradient at every clean digit is exactly zero.
    const model = onnx.ModelProto.decode(mlpBytes());
    const graph = model.graph!;
    graph.node!.forEach(
      (node) => (node.input = node.input!.map((name) => (name === 'input' ? 'quantised' : name))),
    );
    graph.initializer!.push({
      name: 'scale',
      dims: [],
      dataType: onnx.TensorProto.DataType.FLOAT,
      floatData: [255 / 63],
    });
    graph.node!.unshift(
      { opType: 'Mul', input: ['input', 'scale'], output: ['scaled'] },
      { opType: 'Round', input: ['scaled'], output: ['rounded'] },
      { opType: 'Div', input: ['rounded', 'scale'], output: ['quantised'] },
    );
    const evaluate = async (bytes: Uint8Array) => {
      const logits = await createOrtLogitsOracle(bytes, settings);
      const gradients = createFiniteDifferenceOracle(logits);
      const context = {
        streamFor: (index: number) => sampleStream(deriveKey({ test: 'guard-rails' }), index),
        firstSampleIndex: 0,
        bounds,
      };
      const threat = { norm: 'linf', epsilon, bounds } as const;
      const white = await pgd.run(
        digits.inputs,
        digits.labels,
        pgd.params.parse({ epsilon, steps: 3 }),
        gradients,
        context,
      );
      const black = await square.run(
        digits.inputs,
        digits.labels,
        square.params.parse({ epsilon, queryBudget: 100 }),
        logits,
        context,
      );
      const atClean = await gradients.lossAndGradient!(digits.inputs, digits.labels, 'ce');
      const results: EpsilonResult[] = [
        {
          attack: 'pgd',
          access: 'white-box',
          norm: 'linf',
          epsilon,
          robustAccuracy: (await summarizeWithModel(logits, digits.inputs, digits.labels, white, threat))
            .robustAccuracy,
        },
        {
          attack: 'square',
          access: 'score-based',
          norm: 'linf',
          epsilon,
          robustAccuracy: (await summarizeWithModel(logits, digits.inputs, digits.labels, black, threat))
            .robustAccuracy,
        },
      ];
      await logits.close();
      const zero = zeroGradientFraction(atClean.gradient, count);
      return { results, zero, warnings: gradientMaskingWarnings(results, { zeroGradientFraction: zero }) };
    };

    const plain = await evaluate(mlpBytes());
    const masked = await evaluate(onnx.ModelProto.encode(model).finish());
    console.log(
      `Linf eps ${epsilon}, ${count} digits: plain MLP PGD ${plain.results[0].robustAccuracy} / Square ${plain.results[1].robustAccuracy} robust, zero gradients ${plain.zero}; ` +
        `quantised MLP PGD ${masked.results[0].robustAccuracy} / Square ${masked.results[1].robustAccuracy} robust, zero gradients ${masked.zero}`,
    );
    expect(plain.zero).toBe(0);
    expect(plain.warnings).toEqual([]);
    expect(masked.zero).toBe(1);
    expect(masked.warnings.map((warning) => warning.code).sort()).toEqual([
      'black-box-stronger',
      'zero-gradients',
    ]);
  });
});

describe('loss-threshold membership inference (Yeom et al. 2018)', () => {
  it('gives the AUC and advantage computed by hand', () => {
    // Members 0.1 0.2 0.4, held-out 0.3 0.4 0.5. Pairs (member loss < held-out loss, ties 1/2):
    // 0.1 -> 3, 0.2 -> 3, 0.4 -> 0 + 0.5 + 1 = 1.5; AUC = 7.5 / 9.
    // Thresholds: tau = 0.2 -> TPR 2/3, FPR 0: advantage 2/3 (the best).
    const result = lossThresholdAttack([0.1, 0.2, 0.4], [0.3, 0.4, 0.5]);
    expect(result.auc).toBeCloseTo(7.5 / 9, 12);
    expect(result.advantage).toBeCloseTo(2 / 3, 12);
    expect(result.threshold).toBe(0.2);
    // Identical distributions: AUC 1/2, no advantage.
    const none = lossThresholdAttack([1, 1, 2], [2, 1, 1]);
    expect(none.auc).toBe(0.5);
    expect(none.advantage).toBe(0);
    // Perfect separation.
    expect(lossThresholdAttack([0, 0.1], [1, 2])).toEqual({ auc: 1, advantage: 1, threshold: 0.1 });
  });

  it('tells training digits from held-out digits on the example MLP (train loss < held-out loss)', async () => {
    const mlp = await createOrtLogitsOracle(mlpBytes(), settings);
    const losses = async (split: 'train' | 'test') => {
      const { inputs, labels } = loadMnist(split, 1000);
      return lossesFromLogits(await mlp.logits(inputs), 10, labels, 'ce');
    };
    const [train, test] = [await losses('train'), await losses('test')];
    await mlp.close();
    const mean = (values: Float32Array) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const result = lossThresholdAttack(train, test);
    console.log(
      `membership inference on the MLP, 1000 train vs 1000 test digits: mean CE ${mean(train).toFixed(4)} vs ${mean(test).toFixed(4)}, AUC ${result.auc.toFixed(4)}, advantage ${result.advantage.toFixed(4)}`,
    );
    expect(mean(train)).toBeLessThan(mean(test));
    expect(result.auc).toBeGreaterThan(0.5);
    expect(result.advantage).toBeGreaterThan(0);
  });
});

describe('attack registry', () => {
  it('lists versioned modules with unique names, parameter schemas and access vectors', () => {
    const names = BUILTIN_ATTACKS.map((module) => module.name);
    expect(new Set(names).size).toBe(names.length);
    for (const module of BUILTIN_ATTACKS) {
      expect(module.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(module.reference.length).toBeGreaterThan(10);
      expect(['white-box', 'score-based', 'decision-based']).toContain(module.access);
      expect(module.params.safeParse({ epsilon: 0.1 }).success).toBe(true);
      expect(module.params.safeParse({ epsilon: -1 }).success).toBe(false);
    }
    expect(attackByName('square').params.parse({ epsilon: 0.1 })).toMatchObject({
      norm: 'linf',
      queryBudget: 5000,
    });
    expect(() => attackByName('nope')).toThrow(TempestInputError);
  });

  it('every registered attack runs on the example MLP with valid adversarials and counted queries', async () => {
    const { inputs, labels } = loadMnist('test', 3);
    const mlp = await createOrtLogitsOracle(mlpBytes(), settings);
    const gradients = createFiniteDifferenceOracle(mlp);
    const key = deriveKey({ test: 'registry' });
    const context = { streamFor: (index: number) => sampleStream(key, index), firstSampleIndex: 0, bounds };
    const small: Record<string, Record<string, unknown>> = {
      fgsm: {},
      pgd: { steps: 2 },
      'apgd-ce': { steps: 2 },
      'apgd-dlr': { steps: 2 },
      'apgd-t': { steps: 2, targetClasses: 2 },
      square: { queryBudget: 20 },
      simba: { norm: 'linf', queryBudget: 20 },
      'hop-skip-jump': { norm: 'linf', queryBudget: 40, initialProbes: 5, iterations: 2 },
      'carlini-wagner-l2': { steps: 2, searchSteps: 1 },
      'autoattack-standard': { steps: 2, targetClasses: 2, squareQueries: 20 },
    };
    expect(Object.keys(small).sort()).toEqual(BUILTIN_ATTACKS.map((module) => module.name).sort());
    for (const module of BUILTIN_ATTACKS) {
      const params = module.params.parse({ epsilon: 0.1, ...small[module.name] }) as { norm: 'linf' | 'l2' };
      const oracle = module.access === 'white-box' ? gradients : mlp;
      const result = await module.run(inputs, labels, params, oracle, context);
      const summary = await summarizeWithModel(mlp, inputs, labels, result, {
        norm: params.norm,
        epsilon: 0.1,
        bounds,
      });
      expect(summary.queries.max, module.name).toBeGreaterThan(0);
      expect(result.adversarial.dims).toEqual(inputs.dims);
    }
    await mlp.close();
  });
});
