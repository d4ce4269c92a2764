import { z } from 'zod';
import { sampleSize } from '../tensor/tensor';
import {
  aliveSamples,
  batchStreams,
  finishAttack,
  isAdversarial,
  oracleForBatch,
  sampleView,
  stackRows,
} from './batch';
import { QueryBudgetParam, threatModelShape } from './params';
import type { AttackModule } from './types';

/**
 * SimBA with the pixel (Cartesian) basis (Guo, Gardner, You, Wilson & Weinberger 2019, "Simple
 * black-box adversarial attacks", ICML, Algorithm 1): walk the coordinates in a random order
 * without repetition; for each, try x - a e_q, then x + a e_q, and keep the first that lowers the
 * model's probability of the true class. Score-based, one query per tried candidate (plus one
 * for the clean probability).
 *
 * Threat model: each coordinate moves at most once by +-a, so the Linf distance is a (capped at
 * eps) and the L2 distance grows as a * sqrt(changes); for L2 a candidate that would leave the
 * eps-ball is skipped without a query. A candidate that clipping to the bounds makes equal to the
 * current point is skipped too (e.g. darkening a black pixel).
 */

const SimbaParams = z
  .object({
    ...threatModelShape('l2'),
    /** Step a per coordinate (the paper uses 0.2 for the pixel basis). */
    stepSize: z.number().positive().default(0.2),
    queryBudget: QueryBudgetParam.default(1000),
  })
  .strict();
export type SimbaParams = z.infer<typeof SimbaParams>;

function trueClassProbability(logits: Float32Array, row: number, classes: number, label: number): number {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, logits[row * classes + c]);
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(logits[row * classes + c] - max);
  return Math.exp(logits[row * classes + label] - max) / sum;
}

export const simba: AttackModule<SimbaParams> = {
  name: 'simba',
  version: '1.0.0',
  description: 'SimBA, pixel basis: random coordinate-wise search on the true-class probability',
  reference: 'Guo et al. 2019, Simple black-box adversarial attacks, ICML, Algorithm 1',
  access: 'score-based',
  params: SimbaParams,
  async run(batch, labels, params, model, context) {
    const oracle = oracleForBatch(batch, model, params.queryBudget);
    const count = batch.dims[0];
    const size = sampleSize(batch);
    const streams = batchStreams(context, count);
    const step = params.norm === 'linf' ? Math.min(params.stepSize, params.epsilon) : params.stepSize;
    const { min, max } = context.bounds;
    const success = new Uint8Array(count);
    const adversarial = batch.data.slice();
    const current: Float32Array[] = Array.from({ length: count }, (_, i) =>
      sampleView(batch.data, size, i).slice(),
    );
    const squaredNorm = new Float64Array(count);
    const probability = new Float64Array(count);
    // The coordinate order of each sample: Fisher-Yates over its own stream.
    const orders = streams.map((stream) => {
      const order = Int32Array.from({ length: size }, (_, j) => j);
      for (let j = size - 1; j > 0; j--) {
        const swap = Math.floor(stream.uniform() * (j + 1));
        [order[j], order[swap]] = [order[swap], order[j]];
      }
      return order;
    });

    const query = async (samples: number[], rows: Float32Array[]) => {
      const logits = await oracle.logits(stackRows(rows, oracle.sampleDims), samples);
      return samples.map((i, row) => {
        if (isAdversarial(logits, row, oracle.classes, labels[i])) {
          success[i] = 1;
          adversarial.set(rows[row], i * size);
        }
        return trueClassProbability(logits, row, oracle.classes, labels[i]);
      });
    };

    const started = aliveSamples(success, oracle);
    (
      await query(
        started,
        started.map((i) => current[i]),
      )
    ).forEach((p, k) => (probability[started[k]] = p));

    // A candidate for sample i at coordinate q moved by `delta`, or undefined if it cannot be tried.
    const candidate = (i: number, q: number, delta: number) => {
      const clean = batch.data[i * size + q];
      const value = Math.min(max, Math.max(min, clean + delta));
      if (value === current[i][q]) return undefined;
      const change = value - clean;
      if (params.norm === 'l2' && squaredNorm[i] + change * change > params.epsilon ** 2) return undefined;
      const row = current[i].slice();
      row[q] = value;
      return row;
    };

    for (let position = 0; position < size; position++) {
      let pending = aliveSamples(success, oracle);
      if (pending.length === 0) break;
      for (const delta of [-step, step]) {
        const tried: { i: number; row: Float32Array }[] = [];
        for (const i of pending) {
          const row = candidate(i, orders[i][position], delta);
          if (row && oracle.remaining(i) >= 1) tried.push({ i, row });
        }
        const probabilities = await query(
          tried.map((entry) => entry.i),
          tried.map((entry) => entry.row),
        );
        const improved = new Set<number>();
        tried.forEach(({ i, row }, k) => {
          if (probabilities[k] < probability[i] || success[i]) {
            const q = orders[i][position];
            const change = row[q] - batch.data[i * size + q];
            squaredNorm[i] += change * change;
            current[i] = row;
            probability[i] = probabilities[k];
            improved.add(i);
          }
        });
        pending = pending.filter((i) => !improved.has(i));
      }
    }
    return finishAttack(batch, adversarial, success, oracle);
  },
};
