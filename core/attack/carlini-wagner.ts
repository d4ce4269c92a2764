import { z } from 'zod';
import { sampleSize, type Tensor } from '../tensor/tensor';
import {
  aliveSamples,
  finishAttack,
  isAdversarial,
  oracleForBatch,
  rankedClass,
  sampleView,
  stackRows,
} from './batch';
import { distance, withinEpsilon } from './norms';
import type { BudgetedOracle } from './oracle';
import { QueryBudgetParam } from './params';
import type { AttackModule } from './types';

/**
 * Carlini & Wagner L2 (Carlini & Wagner 2017, "Towards evaluating the robustness of neural
 * networks", IEEE S&P, sec. V-A), untargeted: minimise ||x' - x||_2^2 + c * max(z_y - max_{i!=y}
 * z_i, -kappa) over w with x' = min + (max - min)(tanh(w) + 1)/2 (the box constraint by change of
 * variables), with Adam, and a binary search per sample over c (x10 until a success, then halving
 * the interval). The best (smallest) adversarial seen is kept.
 *
 * The margin's gradient comes from the oracle's losses without a dedicated loss: for the largest
 * other class t, grad CE(y) + grad CE-targeted(t) = grad (sum_c p_c z_c - z_y) + grad (z_t -
 * sum_c p_c z_c) = grad (z_t - z_y). So each Adam step is two gradient queries.
 *
 * CW is a minimal-norm attack; Tempest reports success at a threat model, so a sample succeeds
 * when its smallest adversarial is within eps, and stops once it is (saving queries). Defaults
 * are far smaller than the paper's (10,000 steps, 9 search steps) to suit query budgets.
 */

const CarliniWagnerParams = z
  .object({
    norm: z.literal('l2').default('l2'),
    epsilon: z.number().nonnegative().finite(),
    steps: z.number().int().positive().max(100_000).default(100),
    searchSteps: z.number().int().positive().max(50).default(5),
    initialConstant: z.number().positive().default(0.01),
    learningRate: z.number().positive().default(0.01),
    /** Confidence margin kappa. */
    confidence: z.number().nonnegative().default(0),
    queryBudget: QueryBudgetParam.optional(),
  })
  .strict();
export type CarliniWagnerParams = z.infer<typeof CarliniWagnerParams>;

const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;
/** Keeps arctanh finite at the bounds. */
const TANH_SHRINK = 0.999999;

interface SampleState {
  w: Float64Array;
  m: Float64Array;
  v: Float64Array;
  constant: number;
  lower: number;
  upper: number;
  foundThisSearch: boolean;
  best?: { point: Float32Array; distance: number };
}

/** One Adam step for the listed samples: two gradient queries each. */
async function adamStep(
  samples: number[],
  states: SampleState[],
  t: number,
  clean: (i: number) => Float32Array,
  labels: Int32Array,
  oracle: BudgetedOracle,
  params: CarliniWagnerParams,
  bounds: { min: number; max: number },
): Promise<void> {
  const size = clean(0).length;
  const range = bounds.max - bounds.min;
  const points = samples.map((i) =>
    Float32Array.from(states[i].w, (w) => bounds.min + (range * (Math.tanh(w) + 1)) / 2),
  );
  const rows = stackRows(points, oracle.sampleDims);
  const labelRows = Int32Array.from(samples, (i) => labels[i]);
  const ce = await oracle.lossAndGradient(rows, samples, labelRows, 'ce');
  const others = Int32Array.from(samples, (i, row) => {
    const top = rankedClass(ce.logits, row, oracle.classes, 1);
    return top === labels[i] ? rankedClass(ce.logits, row, oracle.classes, 2) : top;
  });
  const targeted = await oracle.lossAndGradient(rows, samples, labelRows, 'ce-targeted', others);
  samples.forEach((i, row) => {
    const state = states[i];
    const x = clean(i);
    const point = points[row];
    const margin =
      ce.logits[row * oracle.classes + labels[i]] - ce.logits[row * oracle.classes + others[row]];
    if (isAdversarial(ce.logits, row, oracle.classes, labels[i])) {
      state.foundThisSearch = true;
      const d = distance(point, x, 'l2');
      if (!state.best || d < state.best.distance) state.best = { point, distance: d };
    }
    const active = margin > -params.confidence;
    for (let j = 0; j < size; j++) {
      // d/dx' of ||x' - x||^2 + c f, with grad f = grad(z_y - z_t) = -(grad CE + grad CE-targeted).
      const marginGradient = -(ce.gradient[row * size + j] + targeted.gradient[row * size + j]);
      const gradX = 2 * (point[j] - x[j]) + (active ? state.constant * marginGradient : 0);
      const tanh = Math.tanh(state.w[j]);
      const g = (gradX * range * (1 - tanh * tanh)) / 2;
      state.m[j] = ADAM.beta1 * state.m[j] + (1 - ADAM.beta1) * g;
      state.v[j] = ADAM.beta2 * state.v[j] + (1 - ADAM.beta2) * g * g;
      const mHat = state.m[j] / (1 - ADAM.beta1 ** t);
      const vHat = state.v[j] / (1 - ADAM.beta2 ** t);
      state.w[j] -= (params.learningRate * mHat) / (Math.sqrt(vHat) + ADAM.epsilon);
    }
  });
}

export const carliniWagnerL2: AttackModule<CarliniWagnerParams> = {
  name: 'carlini-wagner-l2',
  version: '1.0.0',
  description: 'Carlini-Wagner L2: minimal-norm optimisation in tanh space with a binary search over c',
  reference: 'Carlini & Wagner 2017, Towards evaluating the robustness of neural networks, sec. V-A',
  access: 'white-box',
  params: CarliniWagnerParams,
  async run(batch: Tensor, labels, params, model, context) {
    const oracle = oracleForBatch(batch, model, params.queryBudget);
    const count = batch.dims[0];
    const size = sampleSize(batch);
    const { min, max } = context.bounds;
    const clean = (i: number) => sampleView(batch.data, size, i);
    const done = new Uint8Array(count);
    const initialW = (i: number) =>
      Float64Array.from(clean(i), (value) =>
        Math.atanh((((value - min) / (max - min)) * 2 - 1) * TANH_SHRINK),
      );
    const states: SampleState[] = Array.from({ length: count }, () => ({
      w: new Float64Array(size),
      m: new Float64Array(size),
      v: new Float64Array(size),
      constant: params.initialConstant,
      lower: 0,
      upper: Infinity,
      foundThisSearch: false,
    }));
    for (let search = 0; search < params.searchSteps; search++) {
      for (let i = 0; i < count; i++) {
        Object.assign(states[i], {
          w: initialW(i),
          m: new Float64Array(size),
          v: new Float64Array(size),
          foundThisSearch: false,
        });
      }
      for (let t = 1; t <= params.steps; t++) {
        const alive = aliveSamples(done, oracle, 2);
        if (alive.length === 0) break;
        await adamStep(alive, states, t, clean, labels, oracle, params, context.bounds);
        for (const i of alive) {
          const best = states[i].best;
          if (best && withinEpsilon(best.distance, params.epsilon)) done[i] = 1;
        }
      }
      // The binary search over c (Carlini & Wagner's: x10 until success, then bisect).
      for (const state of states) {
        if (state.foundThisSearch) state.upper = Math.min(state.upper, state.constant);
        else state.lower = Math.max(state.lower, state.constant);
        state.constant = Number.isFinite(state.upper) ? (state.lower + state.upper) / 2 : state.constant * 10;
      }
    }
    const adversarial = batch.data.slice();
    states.forEach((state, i) => {
      if (done[i] && state.best) adversarial.set(state.best.point, i * size);
    });
    return finishAttack(batch, adversarial, done, oracle);
  },
};
