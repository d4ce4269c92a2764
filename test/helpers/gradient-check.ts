import { createOnnxModelOracle, type OnnxModelOracle } from '../../core/attack/gradient/oracle';
import { lossFromLogits } from '../../core/attack/losses';
import type { AttackLoss, LossAndGradient } from '../../core/attack/types';
import { deriveKey, sampleStream } from '../../core/rng/keyed';
import { makeTensor, sampleSize, type Tensor } from '../../core/tensor/tensor';

export const ALL_LOSSES: readonly AttackLoss[] = ['ce', 'dlr', 'ce-targeted', 'dlr-targeted'];

export function oracleFor(bytes: Uint8Array, sampleDims?: readonly number[]): Promise<OnnxModelOracle> {
  return createOnnxModelOracle(bytes, { intraOpThreads: 1, interOpThreads: 1, sampleDims });
}

/** Seeded values: uniform in [-scale, scale], a fixed function of `scope`. */
export function seeded(scope: string, count: number, scale = 1): Float32Array {
  const stream = sampleStream(deriveKey({ gradientTest: scope }), 0);
  return Float32Array.from({ length: count }, () => (2 * stream.uniform() - 1) * scale);
}

export interface GradientCheck {
  /** ||g - g_fd|| / ||g_fd|| per sample. */
  readonly relativeErrors: number[];
  /** |loss - reference| / max(|reference|, 1e-30) per sample (reference: lossFromLogits of ORT logits). */
  readonly lossErrors: number[];
  readonly gradientNorms: number[];
}

/** ||analytic - finite|| / ||finite|| (norm-wise relative error) and ||analytic||. */
function compare(
  analytic: Float32Array,
  finite: Float64Array,
): { relativeError: number; gradientNorm: number } {
  let difference = 0;
  let reference = 0;
  let gradient = 0;
  finite.forEach((value, element) => {
    difference += (analytic[element] - value) ** 2;
    reference += value ** 2;
    gradient += analytic[element] ** 2;
  });
  return {
    relativeError: Math.sqrt(difference) / Math.max(Math.sqrt(reference), 1e-30),
    gradientNorm: Math.sqrt(gradient),
  };
}

/** `samples` seeded shuffles of `size` values evenly spaced over [-1, 1] (on the onGrid grid). */
export function distinctValues(scope: string, samples: number, size: number): Float32Array {
  const draws = seeded(scope, samples * size);
  const values = new Float32Array(samples * size);
  for (let sample = 0; sample < samples; sample++) {
    const order = [...Array(size).keys()].sort(
      (a, b) => draws[sample * size + a] - draws[sample * size + b] || a - b,
    );
    order.forEach((rank, position) => (values[sample * size + rank] = -1 + (2 * position) / size));
  }
  return onGrid(values);
}

/** Round to multiples of 2^-12, so that x +- k 2^-10 (k <= 2) stays exact in float32 for |x| < 2^11. */
export function onGrid(values: Float32Array): Float32Array {
  return values.map((value) => Math.round(value * 4096) / 4096);
}

/**
 * Compare the gradient graph with finite differences of the TS reference loss
 * (core/attack/losses.ts) over the original model's ORT logits, in float64: the five-point
 * stencil (8 (L(x+h) - L(x-h)) - (L(x+2h) - L(x-2h))) / 12h, whose error is O(h^4) for smooth
 * graphs and zero inside a linear region of a piecewise-linear one. Inputs must be on the
 * onGrid grid and h a power of two >= 2^-12, so every moved input is exact in float32.
 */
export async function checkGradient(
  oracle: OnnxModelOracle,
  batch: Tensor,
  labels: Int32Array,
  loss: AttackLoss,
  targets: Int32Array | undefined,
  step: number,
): Promise<GradientCheck> {
  const offsets = [step, -step, 2 * step, -2 * step];
  const weights = [8, -8, -1, 1].map((weight) => weight / (12 * step));
  const result = await oracle.lossAndGradient!(batch, labels, loss, targets);
  const reference = await oracle.logits(batch);
  const size = sampleSize(batch);
  const classes = oracle.classes;
  const relativeErrors: number[] = [];
  const lossErrors: number[] = [];
  const gradientNorms: number[] = [];
  for (let sample = 0; sample < batch.dims[0]; sample++) {
    const label = labels[sample];
    const target = targets ? targets[sample] : -1;
    const lossAt = (values: Float32Array, row: number) =>
      lossFromLogits(values, row * classes, classes, label, loss, target);
    const expected = lossAt(reference, sample);
    lossErrors.push(Math.abs(result.loss[sample] - expected) / Math.max(Math.abs(expected), 1e-30));

    const base = batch.data.subarray(sample * size, (sample + 1) * size);
    const moved = makeTensor([offsets.length * size, ...batch.dims.slice(1)]);
    for (let element = 0; element < size; element++) {
      offsets.forEach((offset, k) => {
        const row = element * offsets.length + k;
        const copy = moved.data.subarray(row * size, (row + 1) * size);
        copy.set(base);
        copy[element] = base[element] + offset;
        if (copy[element] - base[element] !== offset)
          throw new Error(`input ${base[element]} is not on the grid`);
      });
    }
    const logits = await oracle.logits(moved);
    const finite = Float64Array.from({ length: size }, (_, element) =>
      weights.reduce((sum, weight, k) => sum + weight * lossAt(logits, element * offsets.length + k), 0),
    );
    const comparison = compare(result.gradient.subarray(sample * size, (sample + 1) * size), finite);
    relativeErrors.push(comparison.relativeError);
    gradientNorms.push(comparison.gradientNorm);
  }
  return { relativeErrors, lossErrors, gradientNorms };
}

/**
 * Labels and targets at fixed ranks of each sample's clean logits (sample i: label at rank
 * [0, 1, last][i % 3], target at rank [2, 3, 0][i % 3]): correctly classified, runner-up and
 * hopeless samples, and never the rank-3 label for which DLR is identically 1 (zero gradient).
 */
export function labelsAndTargets(logits: Float32Array, classes: number) {
  const count = logits.length / classes;
  const ranked = (sample: number) =>
    [...Array(classes).keys()].sort((a, b) => logits[sample * classes + b] - logits[sample * classes + a]);
  const labelRanks = [0, 1, classes - 1];
  const targetRanks = [2, 3, 0];
  const labels = Int32Array.from({ length: count }, (_, i) => ranked(i)[labelRanks[i % 3]]);
  const targets = Int32Array.from({ length: count }, (_, i) => ranked(i)[targetRanks[i % 3]]);
  return { labels, targets };
}

/**
 * The `count` candidates whose logits are furthest from a tie (largest smallest gap between two
 * sorted logits): the DLR losses and the arg max in CE have kinks at ties, where finite
 * differences are meaningless. Returns the chosen batch and its logits.
 */
export async function wellSeparatedSamples(
  oracle: OnnxModelOracle,
  candidates: Tensor,
  count: number,
): Promise<{ batch: Tensor; logits: Float32Array }> {
  const logits = await oracle.logits(candidates);
  const classes = oracle.classes;
  const size = sampleSize(candidates);
  const gap = (sample: number) => {
    const sorted = Array.from(logits.subarray(sample * classes, (sample + 1) * classes)).sort(
      (a, b) => b - a,
    );
    return Math.min(...sorted.slice(1).map((value, i) => sorted[i] - value));
  };
  const chosen = [...Array(candidates.dims[0]).keys()]
    .map((sample) => ({ sample, gap: gap(sample) }))
    .sort((a, b) => b.gap - a.gap || a.sample - b.sample)
    .slice(0, count)
    .map(({ sample }) => sample)
    .sort((a, b) => a - b);
  const batch = makeTensor([count, ...candidates.dims.slice(1)]);
  const chosenLogits = new Float32Array(count * classes);
  chosen.forEach((sample, i) => {
    batch.data.set(candidates.data.subarray(sample * size, (sample + 1) * size), i * size);
    chosenLogits.set(logits.subarray(sample * classes, (sample + 1) * classes), i * classes);
  });
  return { batch, logits: chosenLogits };
}

/**
 * The same comparison against a float64 reference forward pass (e.g. Float64Model), for several
 * losses at once: central differences (L(x+h) - L(x-h)) / 2h in float64 throughout, so a tiny
 * step (far below the distance to the nearest ReLU or max-pool kink) has no rounding noise to
 * speak of. Also returns how far ORT's float32 logits are from the reference's.
 */
export async function checkGradientFloat64(
  oracle: OnnxModelOracle,
  /** The reference logits around one sample (e.g. the network linearized at it). */
  referenceAround: (base: Float64Array) => (sample: Float64Array) => Float64Array,
  batch: Tensor,
  labels: Int32Array,
  targets: Int32Array,
  losses: readonly AttackLoss[],
  step: number,
): Promise<{ checks: Map<AttackLoss, GradientCheck>; logitDifferences: number[] }> {
  const size = sampleSize(batch);
  const classes = oracle.classes;
  const logitDifferences: number[] = [];
  const results = new Map<AttackLoss, LossAndGradient>();
  for (const loss of losses) results.set(loss, await oracle.lossAndGradient!(batch, labels, loss, targets));
  const checks = new Map<
    AttackLoss,
    { relativeErrors: number[]; lossErrors: number[]; gradientNorms: number[] }
  >(losses.map((loss) => [loss, { relativeErrors: [], lossErrors: [], gradientNorms: [] }]));
  for (let sample = 0; sample < batch.dims[0]; sample++) {
    const base = Float64Array.from(batch.data.subarray(sample * size, (sample + 1) * size));
    const referenceLogits = referenceAround(base);
    const logits = referenceLogits(base);
    const ortLogits = results.get(losses[0])!.logits.subarray(sample * classes, (sample + 1) * classes);
    logitDifferences.push(Math.max(...Array.from(logits, (value, k) => Math.abs(value - ortLogits[k]))));
    // Reference logits at x +- h e_j, shared by every loss.
    const moved = Array.from({ length: size }, (_, element) =>
      [step, -step].map((offset) => {
        const input = base.slice();
        input[element] += offset;
        return referenceLogits(input);
      }),
    );
    for (const loss of losses) {
      const result = results.get(loss)!;
      const check = checks.get(loss)!;
      const lossAt = (values: Float64Array) =>
        lossFromLogits(values, 0, classes, labels[sample], loss, targets[sample]);
      const expected = lossAt(logits);
      check.lossErrors.push(Math.abs(result.loss[sample] - expected) / Math.max(Math.abs(expected), 1e-30));
      const finite = Float64Array.from(moved, ([up, down]) => (lossAt(up) - lossAt(down)) / (2 * step));
      const comparison = compare(result.gradient.subarray(sample * size, (sample + 1) * size), finite);
      check.relativeErrors.push(comparison.relativeError);
      check.gradientNorms.push(comparison.gradientNorm);
    }
  }
  return { checks, logitDifferences };
}
