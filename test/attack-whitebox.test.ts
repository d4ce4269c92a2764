import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apgdCe, apgdDlr, apgdTargeted } from '../core/attack/apgd';
import { carliniWagnerL2 } from '../core/attack/carlini-wagner';
import { apgdCheckpoints } from '../core/attack/gradient-ascent';
import { lossFromLogits } from '../core/attack/losses';
import {
  createFiniteDifferenceOracle,
  createOrtLogitsOracle,
  type OrtLogitsOracle,
} from '../core/attack/oracle';
import { fgsm, pgd } from '../core/attack/pgd';
import { summarizeWithModel, type AttackSummary } from '../core/attack/summary';
import type { AttackBatchResult, AttackContext, ModelOracle } from '../core/attack/types';
import { loadMnist } from '../core/data/mnist';
import { buildLinearModel } from '../core/model/onnx-builder';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { makeTensor, sliceSamples, type Tensor } from '../core/tensor/tensor';

const settings = { intraOpThreads: 1, interOpThreads: 1 };
const bounds = { min: 0, max: 1 };
const contextFor = (seed: number, firstSampleIndex = 0): AttackContext => {
  const key = deriveKey({ test: 'attack-whitebox', seed });
  return { streamFor: (index) => sampleStream(key, index), firstSampleIndex, bounds };
};

let mlp: OrtLogitsOracle;
let gradients: ModelOracle;
const digits = loadMnist('test', 50);

const summary = (batch: Tensor, labels: Int32Array, result: AttackBatchResult, epsilon: number) =>
  summarizeWithModel(mlp, batch, labels, result, { norm: 'linf', epsilon, bounds });

beforeAll(async () => {
  mlp = await createOrtLogitsOracle(
    readFileSync(join(__dirname, '..', 'examples', 'models', 'mnist-mlp.onnx')),
    settings,
  );
  gradients = createFiniteDifferenceOracle(mlp);
});
afterAll(() => mlp.close());

describe('finite-difference gradient oracle (real onnxruntime-node)', () => {
  it('matches the analytic cross-entropy gradient W (softmax - onehot) of a linear model', async () => {
    // logits = x W + b with W = [[1, -2], [0.5, 3], [-1, 1]], b = [0.2, -0.1].
    const weight = [
      [1, -2],
      [0.5, 3],
      [-1, 1],
    ];
    const linear = await createOrtLogitsOracle(buildLinearModel(weight, [0.2, -0.1]), settings);
    const oracle = createFiniteDifferenceOracle(linear);
    const x = makeTensor([1, 3], Float32Array.from([0.3, 0.6, 0.1]));
    const { loss, gradient, logits } = await oracle.lossAndGradient!(x, Int32Array.of(0), 'ce');
    const z = [0.3 * 1 + 0.6 * 0.5 - 0.1 + 0.2, 0.3 * -2 + 0.6 * 3 + 0.1 - 0.1];
    const softmax0 = 1 / (1 + Math.exp(z[1] - z[0]));
    expect(logits[0]).toBeCloseTo(z[0], 5);
    expect(loss[0]).toBeCloseTo(-Math.log(softmax0), 5);
    // dCE/dx_j = sum_c W[j][c] (softmax_c - onehot_c) = (softmax0 - 1) (W[j][0] - W[j][1]).
    weight.forEach((row, j) => expect(gradient[j]).toBeCloseTo((softmax0 - 1) * (row[0] - row[1]), 3));
    await linear.close();
  });
});

describe('FGSM, PGD and APGD on the example MLP with real MNIST digits', () => {
  it('FGSM is exactly one PGD step of size eps without random start', async () => {
    const batch = sliceSamples(digits.inputs, 0, 20);
    const labels = digits.labels.subarray(0, 20);
    const epsilon = 0.1;
    const single = await fgsm.run(batch, labels, fgsm.params.parse({ epsilon }), gradients, contextFor(1));
    const step = await pgd.run(
      batch,
      labels,
      pgd.params.parse({ epsilon, steps: 1, randomStart: false, relativeStepSize: 1 }),
      gradients,
      contextFor(2),
    );
    expect(Buffer.from(single.adversarial.data.buffer)).toEqual(Buffer.from(step.adversarial.data.buffer));
    // And it is clip(x + eps sign(grad CE)) where it succeeded (2 queries: gradient, check).
    const { gradient } = await gradients.lossAndGradient!(batch, labels, 'ce');
    const successes = [...single.success!.keys()].filter((i) => single.success![i]);
    expect(successes.length).toBeGreaterThan(5);
    for (const i of successes) {
      for (let j = 0; j < 784; j++) {
        const k = i * 784 + j;
        const expected = Math.fround(
          Math.min(1, Math.max(0, batch.data[k] + epsilon * Math.sign(gradient[k]))),
        );
        expect(single.adversarial.data[k]).toBe(expected);
      }
    }
    expect([...single.queries]).toEqual(new Array(20).fill(2));
    console.log(`FGSM eps 0.1 fooled ${successes.length}/20 digits`);
  });

  it('PGD at Linf eps 0.1 breaks most digits, and robust accuracy never rises with eps', async () => {
    const { inputs, labels } = digits;
    const curve: [number, AttackSummary][] = [];
    for (const epsilon of [0, 0.05, 0.1, 0.2, 0.3]) {
      const result = await pgd.run(
        inputs,
        labels,
        pgd.params.parse({ epsilon, steps: 10 }),
        gradients,
        contextFor(3),
      );
      curve.push([epsilon, await summary(inputs, labels, result, epsilon)]);
    }
    console.log(
      'PGD-10 Linf on 50 digits, robust accuracy by eps:',
      curve
        .map(([eps, s]) => `${eps}: ${s.robustAccuracy} (queries mean ${s.queries.mean.toFixed(1)})`)
        .join(', '),
    );
    const clean = curve[0][1];
    expect(clean.robustAccuracy).toBe(clean.cleanAccuracy);
    expect(clean.cleanAccuracy).toBeGreaterThan(0.85);
    const atPointOne = curve[2][1];
    expect(atPointOne.robustAccuracy).toBeLessThan(0.4);
    expect(atPointOne.perturbation.linf.max).toBeLessThanOrEqual(0.1 + 1e-6);
    for (let k = 1; k < curve.length; k++) {
      expect(curve[k][1].robustAccuracy).toBeLessThanOrEqual(curve[k - 1][1].robustAccuracy);
    }
    expect(curve[4][1].robustAccuracy).toBe(0);
  });

  it('APGD-CE, APGD-DLR and APGD-T stay in the ball and at least match FGSM', async () => {
    const batch = sliceSamples(digits.inputs, 20, 32);
    const labels = digits.labels.subarray(20, 32);
    const epsilon = 0.08;
    const context = contextFor(4, 20);
    const baseline = await summary(
      batch,
      labels,
      await fgsm.run(batch, labels, fgsm.params.parse({ epsilon }), gradients, context),
      epsilon,
    );
    const rates: Record<string, number> = { fgsm: baseline.robustAccuracy };
    for (const [name, result] of [
      [
        'apgd-ce',
        await apgdCe.run(batch, labels, apgdCe.params.parse({ epsilon, steps: 8 }), gradients, context),
      ],
      [
        'apgd-dlr',
        await apgdDlr.run(batch, labels, apgdDlr.params.parse({ epsilon, steps: 8 }), gradients, context),
      ],
      [
        'apgd-t',
        await apgdTargeted.run(
          batch,
          labels,
          apgdTargeted.params.parse({ epsilon, steps: 8, targetClasses: 3 }),
          gradients,
          context,
        ),
      ],
    ] as const) {
      const s = await summary(batch, labels, result, epsilon);
      rates[name] = s.robustAccuracy;
      expect(s.robustAccuracy).toBeLessThanOrEqual(baseline.robustAccuracy);
      expect(s.queries.max).toBeLessThanOrEqual(name === 'apgd-t' ? 1 + 3 * 9 : 9);
    }
    console.log('robust accuracy at Linf eps 0.08 on 12 digits:', rates);
  });

  it('L2 PGD and APGD stay in the L2 ball and break digits', async () => {
    const batch = sliceSamples(digits.inputs, 40, 50);
    const labels = digits.labels.subarray(40, 50);
    const threat = { norm: 'l2', epsilon: 1.5, bounds } as const;
    const context = contextFor(9, 40);
    const robust: Record<string, number> = {};
    for (const [name, result] of [
      [
        'pgd',
        await pgd.run(
          batch,
          labels,
          pgd.params.parse({ norm: 'l2', epsilon: 1.5, steps: 5 }),
          gradients,
          context,
        ),
      ],
      [
        'apgd-ce',
        await apgdCe.run(
          batch,
          labels,
          apgdCe.params.parse({ norm: 'l2', epsilon: 1.5, steps: 5 }),
          gradients,
          context,
        ),
      ],
    ] as const) {
      const s = await summarizeWithModel(mlp, batch, labels, result, threat);
      robust[name] = s.robustAccuracy;
      expect(s.robustAccuracy).toBeLessThan(s.cleanAccuracy);
      expect(s.perturbation.l2.max).toBeLessThanOrEqual(1.5 * (1 + 1e-5));
    }
    console.log('robust accuracy at L2 eps 1.5 on 10 digits:', robust);
  });

  it('Carlini-Wagner L2 finds misclassified points within eps; its margin gradient is exact', async () => {
    const batch = sliceSamples(digits.inputs, 0, 6);
    const labels = digits.labels.subarray(0, 6);
    const params = carliniWagnerL2.params.parse({
      epsilon: 1.5,
      steps: 10,
      searchSteps: 2,
      learningRate: 0.1,
      initialConstant: 1,
    });
    const result = await carliniWagnerL2.run(batch, labels, params, gradients, contextFor(11));
    const s = await summarizeWithModel(mlp, batch, labels, result, { norm: 'l2', epsilon: 1.5, bounds });
    console.log(
      `CW-L2 (10 Adam steps x 2 searches) on 6 digits: ${s.successes} fooled within L2 1.5, L2 mean ${s.perturbation.l2.mean.toFixed(3)}, queries max ${s.queries.max}`,
    );
    expect(s.successes).toBeGreaterThan(1);
    expect([...s.success]).toEqual([...result.success!]);
    expect(s.queries.max).toBeLessThanOrEqual(2 * 10 * 2);

    // grad CE(y) + grad CE-targeted(t) = grad (z_t - z_y) = W[:, t] - W[:, y] for a linear model.
    const weight = [
      [1, -2, 0],
      [0.5, 3, 1],
      [-1, 1, 2],
    ];
    const linear = await createOrtLogitsOracle(buildLinearModel(weight, [0.2, -0.1, 0]), settings);
    const oracle = createFiniteDifferenceOracle(linear);
    const x = makeTensor([1, 3], Float32Array.from([0.3, 0.6, 0.1]));
    const ce = await oracle.lossAndGradient!(x, Int32Array.of(0), 'ce');
    const towards = await oracle.lossAndGradient!(x, Int32Array.of(0), 'ce-targeted', Int32Array.of(2));
    weight.forEach((row, j) => expect(ce.gradient[j] + towards.gradient[j]).toBeCloseTo(row[2] - row[0], 3));
    await linear.close();
  });

  it('places APGD checkpoints at ceil(p_j N) of the paper', () => {
    expect(apgdCheckpoints(100)).toEqual([22, 41, 57, 70, 80, 87, 93, 99]);
    expect(apgdCheckpoints(10)).toEqual([3, 5, 6, 7, 8, 9, 10]);
  });

  it('the targeted losses reach their target', async () => {
    const batch = sliceSamples(digits.inputs, 0, 10);
    const labels = digits.labels.subarray(0, 10);
    const params = pgd.params.parse({ epsilon: 0.3, steps: 10, loss: 'ce-targeted', target: 'runner-up' });
    const result = await pgd.run(batch, labels, params, gradients, contextFor(5));
    const logits = await mlp.logits(result.adversarial);
    const reached = [...result.targets!].filter((target, i) => {
      const row = logits.subarray(i * 10, (i + 1) * 10);
      return row.indexOf(Math.max(...row)) === target;
    }).length;
    expect(reached).toBe(result.success!.reduce((sum, flag) => sum + flag, 0));
    expect(reached).toBeGreaterThan(5);
    // ce-targeted grows as the target's log-probability grows.
    expect(lossFromLogits([0, 2], 0, 2, 0, 'ce-targeted', 1)).toBeGreaterThan(
      lossFromLogits([2, 0], 0, 2, 0, 'ce-targeted', 1),
    );
  });

  it('PGD restarts only add successes: the first restart is the single run', async () => {
    const batch = sliceSamples(digits.inputs, 0, 12);
    const labels = digits.labels.subarray(0, 12);
    const run = (restarts: number) =>
      pgd.run(
        batch,
        labels,
        pgd.params.parse({ epsilon: 0.05, steps: 3, restarts }),
        gradients,
        contextFor(10),
      );
    const [once, thrice] = [await run(1), await run(3)];
    const count = (result: AttackBatchResult) => result.success!.reduce((sum, flag) => sum + flag, 0);
    once.success!.forEach((flag, i) => {
      if (flag) expect(thrice.success![i]).toBe(1);
    });
    console.log(
      `PGD-3 Linf eps 0.05 on 12 digits: ${count(once)} fooled with 1 restart, ${count(thrice)} with 3`,
    );
    expect(count(thrice)).toBeGreaterThanOrEqual(count(once));
    expect(Math.max(...thrice.queries)).toBeLessThanOrEqual(3 * 4);
  });

  it('white-box attacks honour a query budget', async () => {
    const batch = sliceSamples(digits.inputs, 0, 6);
    const labels = digits.labels.subarray(0, 6);
    const result = await pgd.run(
      batch,
      labels,
      pgd.params.parse({ epsilon: 0.02, steps: 20, queryBudget: 4 }),
      gradients,
      contextFor(6),
    );
    expect(Math.max(...result.queries)).toBeLessThanOrEqual(4);
  });

  it('same seed gives the same bytes; a different batch split gives the same per-sample results', async () => {
    const batch = sliceSamples(digits.inputs, 0, 12);
    const labels = digits.labels.subarray(0, 12);
    const params = pgd.params.parse({ epsilon: 0.06, steps: 4, restarts: 2 });
    const whole = await pgd.run(batch, labels, params, gradients, contextFor(7));
    const again = await pgd.run(batch, labels, params, gradients, contextFor(7));
    expect(Buffer.from(again.adversarial.data.buffer)).toEqual(Buffer.from(whole.adversarial.data.buffer));
    const first = await pgd.run(
      sliceSamples(batch, 0, 5),
      labels.subarray(0, 5),
      params,
      gradients,
      contextFor(7),
    );
    const second = await pgd.run(
      sliceSamples(batch, 5, 12),
      labels.subarray(5, 12),
      params,
      gradients,
      contextFor(7, 5),
    );
    const joined = new Float32Array(12 * 784);
    joined.set(first.adversarial.data, 0);
    joined.set(second.adversarial.data, 5 * 784);
    expect(Buffer.from(joined.buffer)).toEqual(Buffer.from(whole.adversarial.data.buffer));
    expect([...first.queries, ...second.queries]).toEqual([...whole.queries]);
    // Another seed draws other random starts.
    const other = await pgd.run(batch, labels, params, gradients, contextFor(8));
    expect(Buffer.from(other.adversarial.data.buffer)).not.toEqual(
      Buffer.from(whole.adversarial.data.buffer),
    );
  });
});
