/**
 * Two-sided critical values, from the @stdlib quantile functions (no hand-written special
 * functions): z_{1-(1-level)/2} of the standard normal and t_{1-(1-level)/2, df} of Student's t.
 */
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { requireOpenUnit } from './validate';

/** Standard normal quantile Phi^{-1}(p). */
export function zQuantile(p: number): number {
  return normalQuantile(p, 0, 1);
}

/** z such that a two-sided interval z * SE has coverage `level`. */
export function zCritical(level: number): number {
  requireOpenUnit('level', level);
  return zQuantile(1 - (1 - level) / 2);
}

/** t such that a two-sided interval t * SE with `df` degrees of freedom has coverage `level`. */
export function tCritical(level: number, df: number): number {
  requireOpenUnit('level', level);
  return tQuantile(1 - (1 - level) / 2, df);
}
