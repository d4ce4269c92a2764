import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import type { PhiloxStream } from '../rng/philox';
import type { AttackNorm } from './types';

/**
 * The geometry of Lp threat models, shared by every attack: distances, projection onto the
 * eps-ball around the clean input intersected with the input bounds, steepest-ascent directions
 * and random starts. As in Foolbox 3 (Rauber et al. 2020) the attacks are norm-generic and only
 * this module knows what Linf and L2 mean.
 *
 * - Linf projection is exact: clip to [x - eps, x + eps] and to the bounds.
 * - L2 projection rescales the perturbation onto the ball, then clips to the bounds. Clipping
 *   moves every coordinate towards the (in-bounds) clean input, so the result stays in the ball;
 *   it is a feasible point of the intersection, not its exact Euclidean projection (the same
 *   choice as Madry et al. 2018's and Foolbox's L2 PGD).
 * - Steepest ascent under the norm (Madry et al. 2018, sec. 2): sign(g) for Linf, g / ||g||_2 for L2.
 */

export interface Bounds {
  readonly min: number;
  readonly max: number;
}

/** Float tolerance of the validity check: float32 rounding of x + eps may overshoot eps by an ulp. */
export const EPSILON_TOLERANCE = 1e-5;

export function distance(a: ArrayLike<number>, b: ArrayLike<number>, norm: AttackNorm): number {
  let result = 0;
  for (let i = 0; i < a.length; i++) {
    const difference = Math.abs(a[i] - b[i]);
    if (norm === 'linf') result = Math.max(result, difference);
    else result += difference * difference;
  }
  return norm === 'linf' ? result : Math.sqrt(result);
}

/** Distances of every sample of two equally shaped batches. */
export function distancesPerSample(
  a: Float32Array,
  b: Float32Array,
  sampleSize: number,
  norm: AttackNorm,
): Float64Array {
  const count = a.length / sampleSize;
  const result = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = i * sampleSize;
    result[i] = distance(a.subarray(start, start + sampleSize), b.subarray(start, start + sampleSize), norm);
  }
  return result;
}

/** Whether a distance is within eps up to float32 rounding. */
export function withinEpsilon(distanceValue: number, epsilon: number): boolean {
  return distanceValue <= epsilon * (1 + EPSILON_TOLERANCE) + EPSILON_TOLERANCE;
}

/** Project `point` (one sample) in place onto {x' : ||x' - clean|| <= eps} intersected with the bounds. */
export function projectInPlace(
  point: Float32Array,
  clean: ArrayLike<number>,
  norm: AttackNorm,
  epsilon: number,
  bounds: Bounds,
): void {
  if (norm === 'l2') {
    const length = distance(point, clean, 'l2');
    if (length > epsilon) {
      const scale = epsilon / length;
      for (let i = 0; i < point.length; i++) point[i] = clean[i] + (point[i] - clean[i]) * scale;
    }
  }
  for (let i = 0; i < point.length; i++) {
    let value = point[i];
    if (norm === 'linf') value = Math.min(clean[i] + epsilon, Math.max(clean[i] - epsilon, value));
    point[i] = Math.min(bounds.max, Math.max(bounds.min, value));
  }
}

/** The unit-norm direction of steepest ascent of a gradient (all zeros for a zero gradient). */
export function ascentDirection(
  gradient: ArrayLike<number>,
  norm: AttackNorm,
  out: Float64Array,
): Float64Array {
  if (norm === 'linf') {
    for (let i = 0; i < gradient.length; i++) out[i] = Math.sign(gradient[i]);
    return out;
  }
  let squared = 0;
  for (let i = 0; i < gradient.length; i++) squared += gradient[i] * gradient[i];
  const length = Math.sqrt(squared);
  for (let i = 0; i < gradient.length; i++) out[i] = length > 0 ? gradient[i] / length : 0;
  return out;
}

/** A standard normal draw from one open uniform (inverse CDF: one stream position per value). */
export function standardNormal(stream: PhiloxStream): number {
  return normalQuantile(stream.uniformOpen(), 0, 1);
}

/**
 * A point drawn uniformly from the eps-ball around `clean`, then clipped to the bounds (Madry et
 * al. 2018's random start). L2: a Gaussian direction with radius eps * u^(1/D), which is uniform
 * in the ball. Draw order: D values (plus one radius for L2) from the sample's stream.
 */
export function randomStartInPlace(
  out: Float32Array,
  clean: ArrayLike<number>,
  norm: AttackNorm,
  epsilon: number,
  bounds: Bounds,
  stream: PhiloxStream,
): void {
  if (norm === 'linf') {
    for (let i = 0; i < out.length; i++) out[i] = clean[i] + epsilon * (2 * stream.uniform() - 1);
  } else {
    const direction = new Float64Array(out.length);
    let squared = 0;
    for (let i = 0; i < out.length; i++) {
      direction[i] = standardNormal(stream);
      squared += direction[i] * direction[i];
    }
    const radius = (epsilon * Math.pow(stream.uniform(), 1 / out.length)) / Math.sqrt(squared);
    for (let i = 0; i < out.length; i++) out[i] = clean[i] + radius * direction[i];
  }
  projectInPlace(out, clean, norm, epsilon, bounds);
}
