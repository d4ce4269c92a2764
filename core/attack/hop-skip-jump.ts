import { z } from 'zod';
import type { PhiloxStream } from '../rng/philox';
import { sampleSize } from '../tensor/tensor';
import { batchStreams, finishAttack, isAdversarial, oracleForBatch, sampleView } from './batch';
import { distance, standardNormal, withinEpsilon, type Bounds } from './norms';
import { QueryBudgetParam, threatModelShape } from './params';
import { QueryBatcher } from './query-batcher';
import type { AttackModule, AttackNorm } from './types';

/**
 * HopSkipJumpAttack (Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: a query-efficient
 * decision-based attack", IEEE S&P; Algorithm 2), untargeted, L2 and Linf. Decision-based: only
 * whether the predicted label differs from the true one is read from each query.
 *
 * 1. Start from uniform noise in the bounds that the model misclassifies (up to `initTrials`
 *    draws), then binary-search towards the clean input.
 * 2. Each iteration t: binary search to the boundary (L2: blend; Linf: clip to a shrinking box;
 *    threshold theta = d^-3/2 for L2 and d^-2 for Linf, gamma = 1); estimate the boundary's normal
 *    from B_t = B_0 sqrt(t) random unit probes at radius delta_t = sqrt(d) theta dist (L2) or
 *    d theta dist (Linf), with the mean sign as baseline (eq. 16); step along the normal (Linf:
 *    its sign) with the geometric search xi = dist / sqrt(t), halved until adversarial.
 *
 * Every point kept is one the model was seen to misclassify. A sample succeeds when its best such
 * point is within eps (the attack then stops); otherwise it returns the clean input. All queries
 * are charged to the sample through the budgeted oracle; a routine stops when a step would
 * overrun its budget.
 */

const HopSkipJumpParams = z
  .object({
    ...threatModelShape('l2'),
    queryBudget: QueryBudgetParam.default(1000),
    iterations: z.number().int().positive().max(10_000).default(64),
    /** B_0, probes of the first gradient estimate. */
    initialProbes: z.number().int().positive().default(100),
    maxProbes: z.number().int().positive().default(10_000),
    initTrials: z.number().int().positive().default(100),
    gamma: z.number().positive().default(1),
  })
  .strict();
export type HopSkipJumpParams = z.infer<typeof HopSkipJumpParams>;

/** Ran out of budget inside a phase: the routine ends with its best verified point. */
class BudgetSpent extends Error {}

interface Verified {
  readonly point: Float32Array;
  readonly distance: number;
}

function clip(values: ArrayLike<number>, bounds: Bounds): Float32Array {
  return Float32Array.from(values, (value) => Math.min(bounds.max, Math.max(bounds.min, value)));
}

/** The point at parameter a between clean (a = 0) and adversarial (a = 1) under the norm's geometry. */
function towards(clean: Float32Array, adversarial: Float32Array, norm: AttackNorm, a: number): Float32Array {
  if (norm === 'l2') return Float32Array.from(clean, (value, i) => (1 - a) * value + a * adversarial[i]);
  // Linf: a is the box radius.
  return Float32Array.from(clean, (value, i) => Math.min(value + a, Math.max(value - a, adversarial[i])));
}

function randomUnit(size: number, norm: AttackNorm, stream: PhiloxStream): Float64Array {
  const u = new Float64Array(size);
  for (let j = 0; j < size; j++) u[j] = norm === 'l2' ? standardNormal(stream) : 2 * stream.uniform() - 1;
  const length = Math.sqrt(u.reduce((sum, value) => sum + value * value, 0));
  return u.map((value) => value / length);
}

export const hopSkipJump: AttackModule<HopSkipJumpParams> = {
  name: 'hop-skip-jump',
  version: '1.0.0',
  description:
    'HopSkipJumpAttack: decision-based boundary search with gradient-direction estimates (L2, Linf)',
  reference: 'Chen, Jordan & Wainwright 2020, HopSkipJumpAttack, IEEE S&P, Algorithm 2',
  access: 'decision-based',
  params: HopSkipJumpParams,
  async run(batch, labels, params, model, context) {
    const oracle = oracleForBatch(batch, model, params.queryBudget);
    const count = batch.dims[0];
    const size = sampleSize(batch);
    const streams = batchStreams(context, count);
    const { norm, epsilon } = params;
    const bounds = context.bounds;
    const theta = norm === 'l2' ? params.gamma / Math.pow(size, 1.5) : params.gamma / (size * size);
    const success = new Uint8Array(count);
    const adversarial = batch.data.slice();

    await QueryBatcher.runAll(
      oracle,
      Array.from({ length: count }, (_, i) => i),
      async (i, batcher) => {
        const clean = sampleView(batch.data, size, i).slice();
        const stream = streams[i];
        // Adversarial flags of rows, refusing (before asking) what the budget cannot pay.
        const decide = async (rows: Float32Array[]) => {
          if (oracle.remaining(i) < rows.length) throw new BudgetSpent();
          const logits = await batcher.logits(i, rows);
          return logits.map((row) => isAdversarial(row, 0, oracle.classes, labels[i]));
        };
        let best: Verified | undefined;
        const keep = (point: Float32Array) => {
          const d = distance(point, clean, norm);
          if (!best || d < best.distance) best = { point, distance: d };
        };
        const boundary = async (from: Float32Array): Promise<Float32Array> => {
          let low = 0;
          let high = norm === 'l2' ? 1 : distance(from, clean, 'linf');
          const threshold = norm === 'l2' ? theta : Math.min(high * theta, theta);
          let found = from;
          while (high - low > threshold) {
            const middle = (low + high) / 2;
            const point = towards(clean, from, norm, middle);
            if ((await decide([point]))[0]) {
              high = middle;
              found = point;
            } else low = middle;
          }
          keep(found);
          return found;
        };

        try {
          if ((await decide([clean]))[0]) {
            best = { point: clean, distance: 0 };
            return;
          }
          let start: Float32Array | undefined;
          for (let trial = 0; trial < params.initTrials && !start; trial++) {
            const noise = Float32Array.from(
              clean,
              () => bounds.min + (bounds.max - bounds.min) * stream.uniform(),
            );
            if ((await decide([noise]))[0]) start = noise;
          }
          if (!start) return;
          let current = await boundary(start);
          for (let t = 1; t <= params.iterations && best && !withinEpsilon(best.distance, epsilon); t++) {
            const dist = distance(current, clean, norm);
            const delta = (norm === 'l2' ? Math.sqrt(size) : size) * theta * dist;
            const probes = Math.min(params.maxProbes, Math.round(params.initialProbes * Math.sqrt(t)));
            const affordable = Math.min(probes, oracle.remaining(i) - 1);
            if (affordable < 2) break;
            const directions = Array.from({ length: affordable }, () => randomUnit(size, norm, stream));
            const rows = directions.map((u) =>
              clip(
                Array.from(u, (value, j) => current[j] + delta * value),
                bounds,
              ),
            );
            const signs = (await decide(rows)).map((flag) => (flag ? 1 : -1));
            const meanSign = signs.reduce((sum, value) => sum + value, 0) / signs.length;
            const baseline = Math.abs(meanSign) === 1 ? 0 : meanSign;
            const gradient = new Float64Array(size);
            rows.forEach((row, b) => {
              // The probe's effective direction after clipping.
              for (let j = 0; j < size; j++)
                gradient[j] += (signs[b] - baseline) * ((row[j] - current[j]) / delta);
            });
            const length = Math.sqrt(gradient.reduce((sum, value) => sum + value * value, 0));
            if (!(length > 0)) break;
            const step = gradient.map((value) => (norm === 'l2' ? value / length : Math.sign(value)));
            let xi = dist / Math.sqrt(t);
            let next: Float32Array | undefined;
            while (!next && xi > 1e-10) {
              const candidate = clip(
                Array.from(step, (value, j) => current[j] + xi * value),
                bounds,
              );
              if ((await decide([candidate]))[0]) next = candidate;
              else xi /= 2;
            }
            if (!next) break;
            keep(next);
            current = await boundary(next);
          }
        } catch (error) {
          if (!(error instanceof BudgetSpent)) throw error;
        } finally {
          if (best && withinEpsilon(best.distance, epsilon)) {
            success[i] = 1;
            adversarial.set(best.point, i * size);
          }
        }
      },
    );
    return finishAttack(batch, adversarial, success, oracle);
  },
};
