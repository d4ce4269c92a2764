import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoAttack } from '../core/attack/ensemble';
import { apgdCe } from '../core/attack/apgd';
import { hopSkipJump } from '../core/attack/hop-skip-jump';
import { distancesPerSample } from '../core/attack/norms';
import {
  budgetedOracle,
  createFiniteDifferenceOracle,
  createOrtLogitsOracle,
  QueryBudgetExceededError,
  type OrtLogitsOracle,
} from '../core/attack/oracle';
import { simba } from '../core/attack/simba';
import { square, squareFraction } from '../core/attack/square';
import { summarizeWithModel } from '../core/attack/summary';
import type { AttackContext, AttackModule, AttackNorm } from '../core/attack/types';
import { loadMnist } from '../core/data/mnist';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { argmaxRows, sliceSamples } from '../core/tensor/tensor';

const bounds = { min: 0, max: 1 };
const contextFor = (seed: number, firstSampleIndex = 0): AttackContext => {
  const key = deriveKey({ test: 'attack-blackbox', seed });
  return { streamFor: (index) => sampleStream(key, index), firstSampleIndex, bounds };
};

let mlp: OrtLogitsOracle;
const digits = loadMnist('test', 20);

beforeAll(async () => {
  mlp = await createOrtLogitsOracle(
    readFileSync(join(__dirname, '..', 'examples', 'models', 'mnist-mlp.onnx')),
    {
      intraOpThreads: 1,
      interOpThreads: 1,
    },
  );
});
afterAll(() => mlp.close());

/** Run a black-box attack on the first `count` digits; check budget, success and the threat model. */
async function runBlackBox<P extends Record<string, unknown>>(
  module: AttackModule<P>,
  raw: Record<string, unknown>,
  count: number,
) {
  const params = module.params.parse(raw);
  const batch = sliceSamples(digits.inputs, 0, count);
  const labels = digits.labels.subarray(0, count);
  const result = await module.run(batch, labels, params, mlp, contextFor(1));
  const { norm, epsilon, queryBudget } = params as unknown as {
    norm: AttackNorm;
    epsilon: number;
    queryBudget: number;
  };
  const summary = await summarizeWithModel(mlp, batch, labels, result, { norm, epsilon, bounds });
  expect(summary.queries.max).toBeLessThanOrEqual(queryBudget);
  expect(summary.successes).toBeGreaterThan(0);
  // What the attack reported as successful, the model confirms (and nothing else).
  const cleanPredictions = argmaxRows(await mlp.logits(batch), count, mlp.classes);
  result.success!.forEach((flag, i) => {
    if (cleanPredictions[i] === labels[i]) expect(summary.success[i]).toBe(flag);
  });
  console.log(
    `${module.name} ${norm} eps ${epsilon}, budget ${queryBudget}: clean ${summary.cleanAccuracy}, robust ${summary.robustAccuracy}, ` +
      `success rate ${summary.successRate.toFixed(2)}, queries mean ${summary.queries.mean.toFixed(1)} median ${summary.queries.median} max ${summary.queries.max}, ` +
      `${norm} of successes max ${summary.perturbation[norm].max.toFixed(4)}`,
  );
  return { batch, labels, result, summary };
}

describe('query budgets', () => {
  it('counts one query per row per sample and refuses to overspend', async () => {
    const oracle = budgetedOracle(mlp, 3, 2);
    const batch = sliceSamples(digits.inputs, 0, 3);
    await oracle.logits(batch, [0, 1, 2]);
    await oracle.logits(sliceSamples(digits.inputs, 0, 1), [1]);
    expect([...oracle.queries]).toEqual([1, 2, 1]);
    expect(oracle.remaining(1)).toBe(0);
    await expect(oracle.logits(sliceSamples(digits.inputs, 0, 2), [0, 1])).rejects.toThrow(
      QueryBudgetExceededError,
    );
    // The refused call charged nobody.
    expect([...oracle.queries]).toEqual([1, 2, 1]);
    await expect(oracle.logits(sliceSamples(digits.inputs, 0, 2), [2, 2])).rejects.toThrow(
      /sample 2 would use 3/,
    );
  });
});

describe('score- and decision-based attacks on the example MLP with real MNIST digits', () => {
  it('Square (Linf and L2) stays within its budget and eps, and breaks digits', async () => {
    await runBlackBox(square, { epsilon: 0.2, queryBudget: 150 }, 20);
    await runBlackBox(square, { norm: 'l2', epsilon: 2.5, queryBudget: 100 }, 10);
    // The p schedule of the paper, rescaled: at budget 10,000 iteration 11 is the first halving.
    expect(squareFraction(0.8, 10, 10000)).toBe(0.8);
    expect(squareFraction(0.8, 11, 10000)).toBe(0.4);
    expect(squareFraction(0.8, 9000, 10000)).toBeCloseTo(0.8 / 512, 12);
    expect(squareFraction(0.8, 3, 1000)).toBe(0.4);
    expect(squareFraction(0.8, 6, 1000)).toBe(0.2);
  });

  it('SimBA (L2 and Linf) stays within its budget and eps, and breaks digits', async () => {
    await runBlackBox(simba, { epsilon: 1.5, queryBudget: 300 }, 12);
    await runBlackBox(simba, { norm: 'linf', epsilon: 0.2, queryBudget: 300 }, 12);
  });

  it('HopSkipJump adversarials are misclassified and within eps when reported successful', async () => {
    for (const [norm, epsilon] of [
      ['l2', 3],
      ['linf', 0.25],
    ] as const) {
      const { batch, labels, result } = await runBlackBox(
        hopSkipJump,
        { norm, epsilon, queryBudget: 400, initialProbes: 30 },
        8,
      );
      const predictions = argmaxRows(await mlp.logits(result.adversarial), 8, 10);
      const distances = distancesPerSample(result.adversarial.data, batch.data, 784, norm);
      result.success!.forEach((flag, i) => {
        if (flag) {
          expect(predictions[i]).not.toBe(labels[i]);
          expect(distances[i]).toBeLessThanOrEqual(epsilon * (1 + 1e-5));
        } else expect(distances[i]).toBe(0);
      });
    }
  });

  it('same seed gives the same bytes, whatever the batch split (Square, HopSkipJump)', async () => {
    for (const [module, raw] of [
      [square, { epsilon: 0.15, queryBudget: 60 }],
      [hopSkipJump, { epsilon: 3, queryBudget: 120, initialProbes: 20 }],
    ] as const) {
      const params = (module as AttackModule).params.parse(raw);
      const run = (start: number, end: number) =>
        (module as AttackModule).run(
          sliceSamples(digits.inputs, start, end),
          digits.labels.subarray(start, end),
          params,
          mlp,
          contextFor(2, start),
        );
      const whole = await run(0, 8);
      const again = await run(0, 8);
      const [first, second] = [await run(0, 3), await run(3, 8)];
      expect(Buffer.from(again.adversarial.data.buffer)).toEqual(Buffer.from(whole.adversarial.data.buffer));
      const joined = new Float32Array(8 * 784);
      joined.set(first.adversarial.data, 0);
      joined.set(second.adversarial.data, 3 * 784);
      expect(Buffer.from(joined.buffer)).toEqual(Buffer.from(whole.adversarial.data.buffer));
      expect([...first.queries, ...second.queries]).toEqual([...whole.queries]);
    }
  });
});

describe('AutoAttack-style ensemble', () => {
  it('is at least as strong as its first member, attacking only still-robust samples', async () => {
    const gradients = createFiniteDifferenceOracle(mlp);
    const batch = sliceSamples(digits.inputs, 0, 10);
    const labels = digits.labels.subarray(0, 10);
    const epsilon = 0.06;
    const ensemble = await autoAttack.run(
      batch,
      labels,
      autoAttack.params.parse({ epsilon, steps: 5, targetClasses: 2, squareQueries: 100 }),
      gradients,
      contextFor(3),
    );
    const first = await apgdCe.run(
      batch,
      labels,
      apgdCe.params.parse({ epsilon, steps: 5 }),
      gradients,
      contextFor(3),
    );
    const threat = { norm: 'linf', epsilon, bounds } as const;
    const ensembleSummary = await summarizeWithModel(mlp, batch, labels, ensemble, threat);
    const firstSummary = await summarizeWithModel(mlp, batch, labels, first, threat);
    console.log(
      `ensemble Linf eps ${epsilon} on 10 digits: robust ${ensembleSummary.robustAccuracy} (APGD-CE alone ${firstSummary.robustAccuracy}), queries mean ${ensembleSummary.queries.mean.toFixed(1)} max ${ensembleSummary.queries.max}`,
    );
    expect(ensembleSummary.robustAccuracy).toBeLessThanOrEqual(firstSummary.robustAccuracy);
    // A sample APGD-CE breaks costs the ensemble's clean check plus APGD-CE's queries, no more.
    first.success!.forEach((flag, i) => {
      if (flag) expect(ensemble.queries[i]).toBe(1 + first.queries[i]);
    });
  });
});
