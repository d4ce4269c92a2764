/**
 * Seeded nonparametric bootstrap confidence intervals for any statistic of the sample indices.
 *
 * BCa (bias-corrected and accelerated) interval: Efron (1987), "Better bootstrap confidence
 * intervals", JASA 82:171-185; Efron & Tibshirani (1993), "An Introduction to the Bootstrap",
 * chapter 14:
 * - bias correction z0 = Phi^{-1}(share of replicates below the estimate) (eq. 14.14), with ties
 *   at the estimate counted half, as scipy.stats.bootstrap(method='BCa') does, so statistics with
 *   few distinct values (accuracies) are not biased downwards;
 * - acceleration a = sum U_i^3 / (6 (sum U_i^2)^{3/2}), U_i = mean(theta_(.)) - theta_(i), from the
 *   delete-one jackknife (eq. 14.15); with `jackknifeGroups` < n, from the delete-a-group jackknife
 *   over a seeded random partition (Efron & Narasimhan 2020, "The automatic construction of
 *   bootstrap confidence intervals", JCGS 29:608-619, `bcajack`'s m groups), for large n;
 * - limits are the bootstrap quantiles at alpha_1,2 = Phi(z0 + (z0 + z_{alpha/2,1-alpha/2}) /
 *   (1 - a (z0 + z_{alpha/2,1-alpha/2}))) (eq. 14.10), quantiles interpolated linearly between
 *   order statistics (Hyndman & Fan 1996 type 7, NumPy's default, as scipy uses).
 * When the BCa limits are undefined (all replicates equal, or the estimate outside the bootstrap
 * distribution so z0 is infinite) the result is the percentile interval (Efron & Tibshirani 1993,
 * chapter 13) and says so in `method` and `fallbackReason`.
 *
 * Randomness comes only from Tempest's counter-based Philox: resample b draws its n indices from
 * `sampleStream(key, b)` as floor(uniform() * n), so the interval is the same bytes on any machine
 * for the same key, data and statistic. That draw order is part of this module's definition.
 */
import { deriveKey, sampleStream } from '../rng/keyed';
import type { PhiloxKey } from '../rng/philox';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { zQuantile } from './critical';
import type { ConfidenceInterval } from './types';
import { requireOpenUnit, requirePositiveCount, statsInputError } from './validate';

/**
 * A statistic of the samples at the given indices (with repeats, in resample order). The array is
 * reused between calls: read it during the call, copy it to keep it.
 */
export type IndexStatistic = (indices: Int32Array) => number;

export interface BootstrapOptions {
  /** Number of bootstrap resamples B (default 2000, Efron & Tibshirani 1993 section 19.3). */
  readonly resamples?: number;
  /** Two-sided confidence level (default 0.95). */
  readonly level?: number;
  /** The Philox key of the resamples. Give this or `seed`. */
  readonly key?: PhiloxKey;
  /** Any JSON-able seed (spec seed, cell key, ...) the Philox key is derived from. Give this or `key`. */
  readonly seed?: unknown;
  /** Groups of the jackknife for the acceleration: default n (delete-one); fewer for large n. */
  readonly jackknifeGroups?: number;
}

export interface BootstrapInterval extends ConfidenceInterval {
  readonly method: 'BCa' | 'percentile';
  /** Why the BCa interval could not be formed and the percentile interval was returned instead. */
  readonly fallbackReason: string | null;
  readonly resamples: number;
  /** z0; null for the percentile fallback. */
  readonly biasCorrection: number | null;
  /** a; null for the percentile fallback. */
  readonly acceleration: number | null;
  /** Standard deviation of the bootstrap replicates (B - 1 divisor): the bootstrap standard error. */
  readonly standardError: number;
  readonly jackknifeGroups: number;
}

export interface PairedBootstrapInterval extends BootstrapInterval {
  readonly estimateA: number;
  readonly estimateB: number;
}

const DEFAULT_RESAMPLES = 2000;

function resampleKey(options: BootstrapOptions): PhiloxKey {
  if (options.key !== undefined) return options.key;
  if (options.seed === undefined) {
    throw statsInputError(
      'bootstrap needs a `seed` or a Philox `key`: Tempest never draws unseeded randomness',
    );
  }
  return deriveKey({ stats: 'tempest/stats/bootstrap/v1', seed: options.seed });
}

function identityIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function evaluate(statistic: IndexStatistic, indices: Int32Array, what: string): number {
  const value = statistic(indices);
  if (!Number.isFinite(value)) throw statsInputError(`bootstrap statistic returned ${value} on ${what}`);
  return value;
}

/** Quantile of sorted values with linear interpolation between order statistics (Hyndman & Fan type 7). */
function sortedQuantile(sorted: Float64Array, p: number): number {
  const position = (sorted.length - 1) * p;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

function bootstrapReplicates(
  n: number,
  statistic: IndexStatistic,
  resamples: number,
  key: PhiloxKey,
): Float64Array {
  const indices = new Int32Array(n);
  const replicates = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    const stream = sampleStream(key, b);
    // One 32-bit word per index: the bias of floor(u32 / 2^32 * n) is below n / 2^32, and it halves the draws.
    for (let i = 0; i < n; i++) indices[i] = Math.floor((stream.nextUint32() / 4294967296) * n);
    replicates[b] = evaluate(statistic, indices, `bootstrap resample ${b}`);
  }
  return replicates;
}

/** Group of each sample: itself (delete-one), or a seeded random partition into `groups` near-equal groups. */
function jackknifeGroupOf(n: number, groups: number, key: PhiloxKey | undefined): Int32Array {
  if (groups === n) return identityIndices(n);
  if (key === undefined) {
    throw statsInputError('a grouped jackknife needs the Philox `key` of its random partition');
  }
  const groupOf = new Int32Array(n);
  const order = identityIndices(n);
  const stream = sampleStream(deriveKey({ stats: 'tempest/stats/bootstrap/jackknife-groups/v1', key }), 0);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(stream.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let position = 0; position < n; position++) {
    groupOf[order[position]] = Math.floor((position * groups) / n);
  }
  return groupOf;
}

function requireJackknifeGroups(groups: number, n: number): void {
  if (!Number.isSafeInteger(groups) || groups < 2 || groups > n) {
    throw statsInputError(`jackknife groups must be an integer between 2 and n = ${n}, got ${groups}`);
  }
}

export interface JackknifeOptions {
  /** Number of groups deleted in turn: n (default) is the delete-one jackknife. */
  readonly groups?: number;
  /** Philox key of the random partition into groups; needed when groups < n. */
  readonly key?: PhiloxKey;
}

/**
 * Jackknife acceleration a = sum U^3 / (6 (sum U^2)^{3/2}), U = mean(theta_(.)) - theta_(g)
 * (Efron & Tibshirani 1993, eq. 14.15); 0 when every U is 0.
 */
export function jackknifeAcceleration(
  n: number,
  statistic: IndexStatistic,
  options: JackknifeOptions = {},
): number {
  requirePositiveCount('n', n);
  const { groups = n, key } = options;
  requireJackknifeGroups(groups, n);
  const groupOf = jackknifeGroupOf(n, groups, key);
  const values = new Float64Array(groups);
  const kept = new Int32Array(n);
  for (let g = 0; g < groups; g++) {
    let size = 0;
    for (let i = 0; i < n; i++) if (groupOf[i] !== g) kept[size++] = i;
    values[g] = evaluate(statistic, kept.subarray(0, size), `jackknife sample without group ${g}`);
  }
  const mean = values.reduce((sum, value) => sum + value, 0) / groups;
  let squares = 0;
  let cubes = 0;
  for (const value of values) {
    const u = mean - value;
    squares += u * u;
    cubes += u * u * u;
  }
  return squares === 0 ? 0 : cubes / (6 * Math.pow(squares, 1.5));
}

function standardDeviation(values: Float64Array): number {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const squares = values.reduce((sum, value) => sum + (value - mean) * (value - mean), 0);
  return Math.sqrt(squares / (values.length - 1));
}

/**
 * BCa bootstrap interval of `statistic` over n samples (Efron 1987; Efron & Tibshirani 1993 ch. 14),
 * falling back to the percentile interval, flagged, when BCa is undefined.
 */
export function bcaInterval(
  n: number,
  statistic: IndexStatistic,
  options: BootstrapOptions,
): BootstrapInterval {
  requirePositiveCount('n', n);
  if (n < 2) {
    throw statsInputError('a bootstrap interval needs at least 2 samples (the jackknife deletes one)');
  }
  const resamples = requirePositiveCount('resamples', options.resamples ?? DEFAULT_RESAMPLES);
  if (resamples < 2) throw statsInputError(`resamples must be at least 2, got ${resamples}`);
  const level = requireOpenUnit('level', options.level ?? 0.95);
  const groups = options.jackknifeGroups ?? n;
  requireJackknifeGroups(groups, n);
  const key = resampleKey(options);

  const estimate = evaluate(statistic, identityIndices(n), 'the original sample');
  const replicates = bootstrapReplicates(n, statistic, resamples, key);
  const sorted = replicates.slice().sort();
  const alpha = 1 - level;
  const common = {
    estimate,
    level,
    resamples,
    standardError: standardDeviation(replicates),
    jackknifeGroups: groups,
  };

  const percentile = (fallbackReason: string): BootstrapInterval => ({
    ...common,
    lower: sortedQuantile(sorted, alpha / 2),
    upper: sortedQuantile(sorted, 1 - alpha / 2),
    method: 'percentile',
    fallbackReason,
    biasCorrection: null,
    acceleration: null,
  });

  if (sorted[0] === sorted[resamples - 1]) {
    return percentile(
      `all ${resamples} bootstrap replicates equal ${sorted[0]}: the BCa interval is undefined`,
    );
  }
  let below = 0;
  let tied = 0;
  for (const value of replicates) {
    if (value < estimate) below++;
    else if (value === estimate) tied++;
  }
  const share = (below + tied / 2) / resamples;
  if (share === 0 || share === 1) {
    return percentile(
      'the estimate lies outside the bootstrap distribution, so the bias correction z0 is infinite',
    );
  }
  const z0 = zQuantile(share);
  const acceleration = jackknifeAcceleration(n, statistic, { groups, key });
  const adjusted = (zAlpha: number): number => {
    const shifted = z0 + zAlpha;
    return normalCdf(z0 + shifted / (1 - acceleration * shifted), 0, 1);
  };
  const lowerLevel = adjusted(zQuantile(alpha / 2));
  const upperLevel = adjusted(zQuantile(1 - alpha / 2));
  if (!(lowerLevel >= 0 && upperLevel <= 1 && lowerLevel < upperLevel)) {
    return percentile(`the BCa levels (${lowerLevel}, ${upperLevel}) are not a valid interval`);
  }
  return {
    ...common,
    lower: sortedQuantile(sorted, lowerLevel),
    upper: sortedQuantile(sorted, upperLevel),
    method: 'BCa',
    fallbackReason: null,
    biasCorrection: z0,
    acceleration,
  };
}

/**
 * BCa interval of statisticA - statisticB where both are computed on the same resampled indices,
 * so the pairing of the samples (both models scored on the same inputs) is kept.
 */
export function pairedBootstrapDifference(
  statisticA: IndexStatistic,
  statisticB: IndexStatistic,
  n: number,
  options: BootstrapOptions,
): PairedBootstrapInterval {
  const interval = bcaInterval(n, (indices) => statisticA(indices) - statisticB(indices), options);
  const all = identityIndices(n);
  return {
    ...interval,
    estimateA: evaluate(statisticA, all, 'the original sample'),
    estimateB: evaluate(statisticB, all, 'the original sample'),
  };
}
