/**
 * Confidence intervals for a single binomial proportion k/n.
 *
 * - Wilson score interval: Wilson (1927), "Probable inference, the law of succession, and
 *   statistical inference", JASA 22:209-212; method 3 of Newcombe (1998a), "Two-sided confidence
 *   intervals for the single proportion: comparison of seven methods", Stat Med 17:857-872.
 *   Limits (k/n + z^2/2n -+ z sqrt(pq/n + z^2/4n^2)) / (1 + z^2/n); statsmodels
 *   `proportion_confint(method='wilson')`.
 * - Clopper-Pearson "exact" interval: Clopper & Pearson (1934), Biometrika 26:404-413; method 5 of
 *   Newcombe (1998a). Limits are beta quantiles, B(alpha/2; k, n-k+1) and B(1-alpha/2; k+1, n-k),
 *   with lower = 0 at k = 0 and upper = 1 at k = n; statsmodels `proportion_confint(method='beta')`.
 */
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import { zCritical } from './critical';
import type { ConfidenceInterval } from './types';
import { requireOpenUnit, requireSuccesses } from './validate';

export type ProportionMethod = 'wilson' | 'clopper-pearson';

export interface ProportionInterval extends ConfidenceInterval {
  readonly method: ProportionMethod;
  readonly successes: number;
  readonly n: number;
}

/** Wilson score interval for `successes` out of `n` (Wilson 1927; Newcombe 1998a method 3). */
export function wilsonInterval(successes: number, n: number, level = 0.95): ProportionInterval {
  requireSuccesses(successes, n);
  const z = zCritical(level);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return {
    estimate: p,
    // At k = 0 (k = n) the limit is exactly 0 (1); pin it so rounding cannot leave -1e-17.
    lower: successes === 0 ? 0 : centre - halfWidth,
    upper: successes === n ? 1 : centre + halfWidth,
    level,
    method: 'wilson',
    successes,
    n,
  };
}

/** Clopper-Pearson exact interval via beta quantiles (Clopper & Pearson 1934; Newcombe 1998a method 5). */
export function clopperPearsonInterval(successes: number, n: number, level = 0.95): ProportionInterval {
  requireSuccesses(successes, n);
  const alpha = 1 - requireOpenUnit('level', level);
  return {
    estimate: successes / n,
    lower: successes === 0 ? 0 : betaQuantile(alpha / 2, successes, n - successes + 1),
    upper: successes === n ? 1 : betaQuantile(1 - alpha / 2, successes + 1, n - successes),
    level,
    method: 'clopper-pearson',
    successes,
    n,
  };
}
