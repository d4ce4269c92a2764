import type { PhiloxStream } from '../rng/philox';
import { sampleSize, type Tensor } from '../tensor/tensor';
import {
  aliveSamples,
  batchStreams,
  finishAttack,
  isAdversarial,
  oracleForBatch,
  sampleView,
  stackRows,
} from './batch';
import { isTargeted } from './losses';
import { ascentDirection, projectInPlace, randomStartInPlace } from './norms';
import type { BudgetedOracle } from './oracle';
import { chooseTargets, type TargetChoice } from './params';
import type { AttackBatchResult, AttackContext, AttackLoss, AttackNorm, ModelOracle } from './types';

/**
 * The one projected gradient-ascent mechanism behind FGSM, PGD and APGD, for any Lp geometry of
 * norms.ts. The variants are configurations of its step rule:
 *
 * - `fixed`: x_{k+1} = P(x_k + eta_k * d(g_k)), d the steepest-ascent direction of the norm.
 *   PGD (Madry et al. 2018, "Towards deep learning models resistant to adversarial attacks",
 *   eq. 2) with optional random start and restarts; FGSM (Goodfellow et al. 2015) is one such
 *   step of size eps from the clean input.
 * - `apgd`: Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an
 *   ensemble of diverse parameter-free attacks", Algorithm 1): initial step 2*eps;
 *   z = P(x_k + eta d(g_k)), x_{k+1} = P(x_k + a (z - x_k) + (1 - a)(x_k - x_{k-1})) with a = 1 on
 *   the first step and the momentum a = 0.75 after; at checkpoints w_j = ceil(p_j N) with
 *   p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) the step is halved and
 *   the iterate restarts from the best point when (1) the loss increased in at most rho = 0.75 of
 *   the steps since the last checkpoint, or (2) the step was not reduced at the last checkpoint
 *   and the best loss has not improved since.
 *
 * Every sample has its own state (step size, checkpoint counters, best point) and its own random
 * stream; only the oracle calls are batched. A sample stops at its first successful iterate, which
 * becomes its adversarial: robust accuracy only asks whether one exists, and stopping saves
 * queries. Restarts run only on samples not yet fooled (AutoAttack does the same); a sample never
 * fooled gets its highest-loss iterate over all restarts (still in the ball, still correctly
 * classified), so downstream metrics can see how close it came.
 *
 * Deviation noted: condition (2) is not tested at the first checkpoint (the step counts as
 * "reduced" before it), as in the authors' implementation; the paper's text would test it.
 */

export type StepRule =
  | {
      readonly kind: 'fixed';
      /** Absolute step size (input units). */
      readonly stepSize: number;
      /** constant, or cosine decay eta_k = eta_0 (1 + cos(pi k / K)) / 2. */
      readonly schedule: 'constant' | 'cosine';
    }
  | { readonly kind: 'apgd'; readonly momentum: number; readonly rho: number };

export interface AscentSettings {
  readonly norm: AttackNorm;
  readonly epsilon: number;
  readonly steps: number;
  readonly restarts: number;
  readonly randomStart: boolean;
  readonly loss: AttackLoss;
  readonly stepRule: StepRule;
}

export interface AscentGoal {
  readonly labels: Int32Array;
  /** Target per sample, for the targeted losses. */
  readonly lossTargets?: Int32Array;
  /** When set, success is reaching these targets; otherwise any misclassification. */
  readonly successTargets?: Int32Array;
}

export interface AscentOutcome {
  /**
   * Flat batch: the first successful iterate of each successful sample; for the others the
   * iterate of highest loss over all restarts (clean until evaluated).
   */
  readonly adversarial: Float32Array;
  readonly success: Uint8Array;
  /** Highest loss seen per unsuccessful sample. */
  readonly bestLoss: Float64Array;
}

export function initialOutcome(batch: Tensor): AscentOutcome {
  return {
    adversarial: batch.data.slice(),
    success: new Uint8Array(batch.dims[0]),
    bestLoss: new Float64Array(batch.dims[0]).fill(-Infinity),
  };
}

/**
 * APGD's checkpoint iterations w_j = ceil(p_j N), strictly increasing (few steps make some
 * coincide). The small tolerance keeps 0.22 * 100 = 22.000000000000004 at 22.
 */
export function apgdCheckpoints(steps: number): number[] {
  const points: number[] = [];
  let previous = 0;
  let current = 0.22;
  while (current <= 1) {
    const iteration = Math.max(1, Math.ceil(current * steps - 1e-9));
    if (iteration > (points[points.length - 1] ?? 0)) points.push(iteration);
    const next = current + Math.max(current - previous - 0.03, 0.06);
    previous = current;
    current = next;
  }
  return points;
}

interface SampleState {
  x: Float32Array;
  previous: Float32Array;
  gradient: Float32Array;
  loss: number;
  bestLoss: number;
  best: Float32Array;
  bestGradient: Float32Array;
  stepSize: number;
  increases: number;
  reducedAtLastCheckpoint: boolean;
  bestLossAtLastCheckpoint: number;
}

export async function gradientAscent(
  batch: Tensor,
  goal: AscentGoal,
  oracle: BudgetedOracle,
  context: AttackContext,
  settings: AscentSettings,
  outcome: AscentOutcome = initialOutcome(batch),
  streams: readonly PhiloxStream[] = batchStreams(context, batch.dims[0]),
): Promise<AscentOutcome> {
  const size = sampleSize(batch);
  const checkpoints = settings.stepRule.kind === 'apgd' ? apgdCheckpoints(settings.steps) : [];
  const initialStep = settings.stepRule.kind === 'apgd' ? 2 * settings.epsilon : settings.stepRule.stepSize;
  const clean = (i: number) => sampleView(batch.data, size, i);

  // One loss+gradient query for each listed sample; records success and the best-loss point.
  const evaluate = async (samples: number[], states: Map<number, SampleState>) => {
    if (samples.length === 0) return;
    const rows = stackRows(
      samples.map((i) => states.get(i)!.x),
      oracle.sampleDims,
    );
    const pick = (values: Int32Array | undefined) =>
      values ? Int32Array.from(samples, (i) => values[i]) : undefined;
    const result = await oracle.lossAndGradient(
      rows,
      samples,
      Int32Array.from(samples, (i) => goal.labels[i]),
      settings.loss,
      pick(goal.lossTargets),
    );
    samples.forEach((i, row) => {
      const state = states.get(i)!;
      if (result.loss[row] > state.loss) state.increases++;
      state.loss = result.loss[row];
      state.gradient = result.gradient.slice(row * size, (row + 1) * size);
      if (state.loss > state.bestLoss) {
        state.bestLoss = state.loss;
        state.best = state.x.slice();
        state.bestGradient = state.gradient;
      }
      const target = goal.successTargets ? goal.successTargets[i] : -1;
      if (isAdversarial(result.logits, row, oracle.classes, goal.labels[i], target)) {
        outcome.success[i] = 1;
        outcome.adversarial.set(state.x, i * size);
      } else if (state.loss > outcome.bestLoss[i]) {
        outcome.bestLoss[i] = state.loss;
        outcome.adversarial.set(state.x, i * size);
      }
    });
  };

  for (let restart = 0; restart < settings.restarts; restart++) {
    const started = aliveSamples(outcome.success, oracle);
    if (started.length === 0) break;
    const states = new Map<number, SampleState>();
    for (const i of started) {
      const x = clean(i).slice();
      if (settings.randomStart) {
        randomStartInPlace(x, clean(i), settings.norm, settings.epsilon, context.bounds, streams[i]);
      }
      states.set(i, {
        x,
        previous: x,
        gradient: new Float32Array(size),
        loss: -Infinity,
        bestLoss: -Infinity,
        best: x,
        bestGradient: new Float32Array(size),
        stepSize: initialStep,
        increases: 0,
        reducedAtLastCheckpoint: true,
        bestLossAtLastCheckpoint: -Infinity,
      });
    }
    await evaluate(started, states);
    for (const state of states.values()) {
      state.increases = 0;
      state.bestLossAtLastCheckpoint = state.bestLoss;
    }

    let checkpointIndex = 0;
    let lastCheckpoint = 0;
    const direction = new Float64Array(size);
    // With eps = 0 every step projects back onto the clean input: one evaluation says it all.
    const steps = settings.epsilon > 0 ? settings.steps : 0;
    for (let k = 0; k < steps; k++) {
      const alive = aliveSamples(outcome.success, oracle).filter((i) => states.has(i));
      if (alive.length === 0) break;
      for (const i of alive) {
        const state = states.get(i)!;
        ascentDirection(state.gradient, settings.norm, direction);
        const next = state.x.slice();
        const eta =
          settings.stepRule.kind === 'fixed' && settings.stepRule.schedule === 'cosine'
            ? (state.stepSize * (1 + Math.cos((Math.PI * k) / settings.steps))) / 2
            : state.stepSize;
        for (let j = 0; j < size; j++) next[j] += eta * direction[j];
        projectInPlace(next, clean(i), settings.norm, settings.epsilon, context.bounds);
        if (settings.stepRule.kind === 'apgd' && k > 0) {
          // Momentum: blend the projected step z with the previous displacement, project again.
          const a = settings.stepRule.momentum;
          for (let j = 0; j < size; j++) {
            next[j] = state.x[j] + a * (next[j] - state.x[j]) + (1 - a) * (state.x[j] - state.previous[j]);
          }
          projectInPlace(next, clean(i), settings.norm, settings.epsilon, context.bounds);
        }
        state.previous = state.x;
        state.x = next;
      }
      await evaluate(alive, states);

      if (settings.stepRule.kind === 'apgd' && k + 1 === checkpoints[checkpointIndex]) {
        const interval = checkpoints[checkpointIndex] - lastCheckpoint;
        for (const state of states.values()) {
          const oscillating = state.increases < settings.stepRule.rho * interval;
          const stalled = !state.reducedAtLastCheckpoint && state.bestLossAtLastCheckpoint >= state.bestLoss;
          const reduce = oscillating || stalled;
          if (reduce) {
            state.stepSize /= 2;
            state.x = state.best;
            state.gradient = state.bestGradient;
          }
          state.reducedAtLastCheckpoint = reduce;
          state.bestLossAtLastCheckpoint = state.bestLoss;
          state.increases = 0;
        }
        lastCheckpoint = checkpoints[checkpointIndex];
        checkpointIndex++;
      }
    }
  }
  return outcome;
}

/**
 * An attack module's run over this mechanism: budgeted oracle, targets for a targeted loss (the
 * attack then succeeds only by reaching them), the ascent, and the result.
 */
export async function runAscentAttack(
  batch: Tensor,
  labels: Int32Array,
  model: ModelOracle,
  context: AttackContext,
  settings: AscentSettings,
  options: { readonly target?: TargetChoice; readonly queryBudget?: number },
): Promise<AttackBatchResult> {
  const oracle = oracleForBatch(batch, model, options.queryBudget);
  const targets = isTargeted(settings.loss)
    ? await chooseTargets(batch, oracle, options.target ?? 'least-likely')
    : undefined;
  const outcome = await gradientAscent(
    batch,
    { labels, lossTargets: targets, successTargets: targets },
    oracle,
    context,
    settings,
  );
  return finishAttack(batch, outcome.adversarial, outcome.success, oracle, {
    targets,
    keepUnsuccessful: true,
  });
}
