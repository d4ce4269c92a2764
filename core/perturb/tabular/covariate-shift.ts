import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { FeatureSelection, mapSelected, profilesOf, selectFeatures, tableOf } from './table';

/** Quantile shift per severity. */
const DELTA_BY_SEVERITY = [0.05, 0.1, 0.2, 0.3, 0.4] as const;

const CovariateShiftParams = z
  .object({ delta: z.number().min(-1).max(1), features: FeatureSelection })
  .strict();
type CovariateShiftParams = z.infer<typeof CovariateShiftParams>;

const LAST_PERCENTILE = 100;

/**
 * F(x): the quantile of x under the feature's empirical CDF, the piecewise-linear curve through
 * the profile's points (P_k, k / 100), k = 0..100. Where several percentiles equal x (a tie run
 * P_lo = ... = P_hi = x, common for integer-valued measurements) the curve is flat and F(x) is the
 * middle of the run, (lo + hi) / 200, the mid-rank convention; below P_0 it is 0, above P_100 1.
 */
export function quantileOf(percentiles: Float64Array, x: number): number {
  // lo: first k with P_k >= x; hi: last k with P_k <= x (binary searches over the sorted percentiles).
  let lo = 0;
  let end = percentiles.length;
  while (lo < end) {
    const middle = (lo + end) >>> 1;
    if (percentiles[middle] < x) lo = middle + 1;
    else end = middle;
  }
  let hi = lo;
  end = percentiles.length;
  while (hi < end) {
    const middle = (hi + end) >>> 1;
    if (percentiles[middle] <= x) hi = middle + 1;
    else end = middle;
  }
  hi -= 1;
  if (lo > LAST_PERCENTILE) return 1;
  if (hi < 0) return 0;
  if (lo <= hi) return (lo + hi) / 200;
  return (hi + (x - percentiles[hi]) / (percentiles[lo] - percentiles[hi])) / 100;
}

/** Q(q): the inverse of the curve, linear interpolation between the percentiles at 100 q. */
export function valueAtQuantile(percentiles: Float64Array, q: number): number {
  const position = q * LAST_PERCENTILE;
  const k = Math.min(LAST_PERCENTILE - 1, Math.floor(position));
  return percentiles[k] + (percentiles[k + 1] - percentiles[k]) * (position - k);
}

/**
 * Covariate shift by quantiles: each value x of a chosen numeric feature moves to
 * x' = Q(clamp(F(x) + delta, 0, 1)), where F and Q are the feature's empirical CDF over the whole
 * clean dataset and its inverse, both the piecewise-linear curve through the profile's percentiles
 * (see quantileOf, valueAtQuantile). So the median (F = .5) moves to the 60th percentile at
 * delta .1, and the maximum stays where it is. A shift in quantiles rather than in units means the
 * same on skewed and symmetric features, stays inside the range the data actually covers (no
 * impossible values), and keeps each value's rank: the population drifts towards its upper tail,
 * as when a model meets heavier animals or older patients than it was trained on. delta = .05 .1
 * .2 .3 .4 for severities 1-5; a negative delta shifts towards the lower tail. Deterministic: one
 * cell per condition, not one per seed.
 */
export const covariateShift: PerturbationModule<CovariateShiftParams> = {
  name: 'covariate_shift',
  version: '1.0.0',
  description: "Move numeric values up their feature's distribution by delta in quantiles",
  reference: 'Tempest tabular suite: quantile shift delta = .05 .1 .2 .3 .4 for severities 1-5',
  inputKind: 'tabular',
  stochastic: false,
  params: CovariateShiftParams,
  severityParams(severity: number): CovariateShiftParams {
    return { delta: DELTA_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const table = tableOf(batch, context, 'covariate_shift');
    const selected = selectFeatures(table, params.features, ['numeric'], 'covariate_shift');
    const percentiles = profilesOf(table, context, 'covariate_shift').map((p) =>
      Float64Array.from(p.percentiles),
    );
    return mapSelected(batch, table, selected, (value, column) => {
      const shifted = quantileOf(percentiles[column], value) + params.delta;
      return valueAtQuantile(percentiles[column], Math.min(1, Math.max(0, shifted)));
    });
  },
};
