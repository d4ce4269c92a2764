import { argmaxRows, sampleSize, type Tensor } from '../tensor/tensor';
import { distancesPerSample, withinEpsilon, type Bounds } from './norms';
import type { AttackBatchResult, AttackNorm, ModelOracle } from './types';

/**
 * What an attack did to one batch or cell, from the model's own predictions on the clean and the
 * adversarial inputs (never from the attack's say-so).
 *
 * Success definitions (REFERENCE.md, AutoAttack section; Croce & Hein 2020 sec. 5):
 * - untargeted, against the label (AutoAttack): a sample is attackable when clean-correct, and
 *   broken when its adversarial prediction differs from the label;
 * - untargeted, against the clean prediction (ART's convention): the prediction changed;
 * - targeted: an attackable sample is broken when its adversarial prediction is the target.
 * Robust accuracy = samples clean-correct and not broken / all samples (clean errors count as
 * failures). Perturbation norms summarise the successful adversarials; queries all samples.
 *
 * The validity check is an error, not a warning: an adversarial outside the eps-ball or the input
 * bounds means the attack measured a different threat model than the one reported.
 */

export class AttackValidityError extends Error {
  override readonly name = 'AttackValidityError';
}

export interface Statistic {
  readonly mean: number;
  readonly median: number;
  readonly max: number;
}

export interface AttackSummaryInput {
  readonly clean: Tensor;
  readonly adversarial: Tensor;
  readonly labels: Int32Array;
  /** [N, classes] logits of the clean and of the adversarial inputs. */
  readonly cleanLogits: Float32Array;
  readonly adversarialLogits: Float32Array;
  readonly classes: number;
  readonly queries: Uint32Array;
  readonly norm: AttackNorm;
  readonly epsilon: number;
  readonly bounds: Bounds;
  /** Targets of a targeted attack; success is then reaching them. */
  readonly targets?: Int32Array;
}

export interface AttackSummary {
  readonly samples: number;
  readonly cleanAccuracy: number;
  readonly robustAccuracy: number;
  /** Clean-correct samples (the ones an attack can break). */
  readonly attackable: number;
  readonly successes: number;
  /** successes / attackable (0 when nothing is attackable). */
  readonly successRate: number;
  /** Fraction of all samples whose prediction the attack changed (ART's untargeted success). */
  readonly predictionChangeRate: number;
  /** 1 where the sample was attackable and broken. */
  readonly success: Uint8Array;
  readonly queries: Statistic;
  /** Over successful samples; zeros when there are none. */
  readonly perturbation: { readonly linf: Statistic; readonly l2: Statistic };
}

export function statistic(values: ArrayLike<number>): Statistic {
  if (values.length === 0) return { mean: 0, median: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return {
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    median,
    max: sorted[sorted.length - 1],
  };
}

/** Throws AttackValidityError naming the offending samples unless every adversarial is in the threat model. */
export function checkAdversarialValidity(
  clean: Tensor,
  adversarial: Tensor,
  norm: AttackNorm,
  epsilon: number,
  bounds: Bounds,
): void {
  if (clean.data.length !== adversarial.data.length) {
    throw new AttackValidityError(
      `adversarial batch has ${adversarial.data.length} values, the clean batch ${clean.data.length}`,
    );
  }
  const size = sampleSize(clean);
  const distances = distancesPerSample(adversarial.data, clean.data, size, norm);
  const problems: string[] = [];
  distances.forEach((d, i) => {
    const values = adversarial.data.subarray(i * size, (i + 1) * size);
    if (values.some((value) => Number.isNaN(value))) problems.push(`sample ${i}: NaN values`);
    else if (!withinEpsilon(d, epsilon)) problems.push(`sample ${i}: ${norm} distance ${d} > eps ${epsilon}`);
    else if (values.some((value) => value < bounds.min || value > bounds.max)) {
      problems.push(`sample ${i}: values outside the bounds [${bounds.min}, ${bounds.max}]`);
    }
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    throw new AttackValidityError(
      `${problems.length} adversarial input(s) outside the threat model: ${shown}${problems.length > 5 ? '; ...' : ''}`,
    );
  }
}

/** The rates of an attack summary from its counts (all samples, clean-correct, broken, robust, changed). */
export function attackRates(counts: {
  samples: number;
  attackable: number;
  successes: number;
  robust: number;
  changed: number;
}): Pick<
  AttackSummary,
  | 'samples'
  | 'cleanAccuracy'
  | 'robustAccuracy'
  | 'attackable'
  | 'successes'
  | 'successRate'
  | 'predictionChangeRate'
> {
  const { samples, attackable, successes } = counts;
  return {
    samples,
    cleanAccuracy: samples === 0 ? 0 : attackable / samples,
    robustAccuracy: samples === 0 ? 0 : counts.robust / samples,
    attackable,
    successes,
    successRate: attackable === 0 ? 0 : successes / attackable,
    predictionChangeRate: samples === 0 ? 0 : counts.changed / samples,
  };
}

export function summarizeAttack(input: AttackSummaryInput): AttackSummary {
  checkAdversarialValidity(input.clean, input.adversarial, input.norm, input.epsilon, input.bounds);
  const count = input.labels.length;
  const size = sampleSize(input.clean);
  const cleanPrediction = argmaxRows(input.cleanLogits, count, input.classes);
  const adversarialPrediction = argmaxRows(input.adversarialLogits, count, input.classes);
  const success = new Uint8Array(count);
  let attackable = 0;
  let changed = 0;
  for (let i = 0; i < count; i++) {
    if (adversarialPrediction[i] !== cleanPrediction[i]) changed++;
    if (cleanPrediction[i] !== input.labels[i]) continue;
    attackable++;
    const broken = input.targets
      ? adversarialPrediction[i] === input.targets[i]
      : adversarialPrediction[i] !== input.labels[i];
    if (broken) success[i] = 1;
  }
  const successes = success.reduce((sum, flag) => sum + flag, 0);
  // Robust: clean-correct and still correct (a targeted attack that missed its target may still flip the label).
  let robust = 0;
  for (let i = 0; i < count; i++) {
    if (cleanPrediction[i] === input.labels[i] && adversarialPrediction[i] === input.labels[i]) robust++;
  }
  const successful = Array.from({ length: count }, (_, i) => i).filter((i) => success[i]);
  const pick = (values: Float64Array) => successful.map((i) => values[i]);
  const linf = distancesPerSample(input.adversarial.data, input.clean.data, size, 'linf');
  const l2 = distancesPerSample(input.adversarial.data, input.clean.data, size, 'l2');
  return {
    ...attackRates({ samples: count, attackable, successes, robust, changed }),
    success,
    queries: statistic(input.queries),
    perturbation: { linf: statistic(pick(linf)), l2: statistic(pick(l2)) },
  };
}

/**
 * Summarise an attack result by asking the model for the clean and adversarial logits (outside
 * the attack's budget: this is the evaluation, not the attack).
 */
export async function summarizeWithModel(
  model: ModelOracle,
  batch: Tensor,
  labels: Int32Array,
  result: AttackBatchResult,
  threat: { readonly norm: AttackNorm; readonly epsilon: number; readonly bounds: Bounds },
): Promise<AttackSummary> {
  return summarizeAttack({
    clean: batch,
    adversarial: result.adversarial,
    labels,
    cleanLogits: await model.logits(batch),
    adversarialLogits: await model.logits(result.adversarial),
    classes: model.classes,
    queries: result.queries,
    targets: result.targets,
    ...threat,
  });
}
