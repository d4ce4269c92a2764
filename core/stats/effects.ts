/**
 * Effect sizes for comparing two accuracies (proportions), with confidence intervals.
 *
 * - Risk difference of independent proportions p1 - p2: Newcombe's hybrid score interval, method
 *   10 of Newcombe (1998b), "Interval estimation for the difference between independent
 *   proportions: comparison of eleven methods", Stat Med 17:873-890. From the Wilson limits
 *   (l_i, u_i) of each proportion: (p1 - p2) - sqrt((p1 - l1)^2 + (u2 - p2)^2) to
 *   (p1 - p2) + sqrt((u1 - p1)^2 + (p2 - l2)^2).
 * - Risk difference of paired proportions (two models on the same samples): method 10 of Newcombe
 *   (1998c), "Improved confidence intervals for the difference between binomial proportions based
 *   on paired data", Stat Med 17:2635-2650: the same square-and-add of Wilson limits of the two
 *   marginal proportions with a correlation term, -2 phi (p1 - l1)(u2 - p2) under the root, where
 *   phi = C / sqrt((a+b)(c+d)(a+c)(b+d)) and C = ad - bc - n/2 if ad - bc > n/2, 0 if
 *   0 <= ad - bc <= n/2, ad - bc if negative (phi = 0 when a margin is empty).
 * - Cohen's h = 2 asin sqrt(p1) - 2 asin sqrt(p2): Cohen (1988), "Statistical Power Analysis for
 *   the Behavioral Sciences" 2nd ed., chapter 6 (small .2, medium .5, large .8).
 * - Odds ratio ad / bc with Woolf's log interval, exp(log OR -+ z sqrt(1/a + 1/b + 1/c + 1/d))
 *   (Woolf 1955, Ann Hum Genet 19:251-253; Agresti 2013, "Categorical Data Analysis" 3rd ed.,
 *   section 3.1.1), adding 0.5 to every cell when one is zero (Haldane 1956, Ann Hum Genet
 *   20:309-311).
 */
import { zCritical } from './critical';
import type { ConfidenceInterval, TwoByTwoCounts } from './types';
import { wilsonInterval } from './proportions';
import { requireSuccesses, requireTable, requireUnit, statsInputError } from './validate';

/** Half-width of a square-and-add interval: sqrt(x^2 - 2 phi x y + y^2), never the root of a rounding negative. */
function squareAndAdd(x: number, y: number, phi: number): number {
  return Math.sqrt(Math.max(0, x * x - 2 * phi * x * y + y * y));
}

/** p1 - p2 for x1/n1 and x2/n2 from independent samples, Newcombe (1998b) method 10. */
export function riskDifference(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  level = 0.95,
): ConfidenceInterval {
  requireSuccesses(x1, n1);
  requireSuccesses(x2, n2);
  const first = wilsonInterval(x1, n1, level);
  const second = wilsonInterval(x2, n2, level);
  const p1 = first.estimate;
  const p2 = second.estimate;
  return {
    estimate: p1 - p2,
    lower: p1 - p2 - squareAndAdd(p1 - first.lower, second.upper - p2, 0),
    upper: p1 - p2 + squareAndAdd(first.upper - p1, p2 - second.lower, 0),
    level,
    method: 'newcombe-hybrid-score',
  };
}

/** Newcombe's (1998c) continuity-corrected correlation phi of the paired table. */
function pairedPhi({ a, b, c, d }: TwoByTwoCounts, n: number): number {
  const margins = (a + b) * (c + d) * (a + c) * (b + d);
  if (margins === 0) return 0;
  const cross = a * d - b * c;
  const corrected = cross > n / 2 ? cross - n / 2 : cross >= 0 ? 0 : cross;
  return corrected / Math.sqrt(margins);
}

/**
 * Accuracy of A minus accuracy of B on the same samples, (b - c) / n, with Newcombe's (1998c)
 * method 10 interval. Cells as in `pairedTable`: a both correct, b only A, c only B, d neither.
 */
export function pairedRiskDifference(counts: TwoByTwoCounts, level = 0.95): ConfidenceInterval {
  const { a, b, c } = counts;
  const n = requireTable(counts);
  if (n === 0) throw statsInputError('paired table is empty (n = 0)');
  const first = wilsonInterval(a + b, n, level);
  const second = wilsonInterval(a + c, n, level);
  const p1 = first.estimate;
  const p2 = second.estimate;
  const phi = pairedPhi(counts, n);
  return {
    estimate: p1 - p2,
    lower: p1 - p2 - squareAndAdd(p1 - first.lower, second.upper - p2, phi),
    upper: p1 - p2 + squareAndAdd(first.upper - p1, p2 - second.lower, phi),
    level,
    method: 'newcombe-paired-hybrid-score',
  };
}

/** Cohen's h = 2 asin sqrt(p1) - 2 asin sqrt(p2) (Cohen 1988, chapter 6). */
export function cohensH(p1: number, p2: number): number {
  requireUnit('p1', p1);
  requireUnit('p2', p2);
  return 2 * Math.asin(Math.sqrt(p1)) - 2 * Math.asin(Math.sqrt(p2));
}

export interface OddsRatioInterval extends ConfidenceInterval {
  readonly method: 'woolf' | 'woolf-haldane';
  /** log of the (corrected) odds ratio and its standard error, for meta-analysis. */
  readonly logEstimate: number;
  readonly logStandardError: number;
}

/**
 * Odds ratio of the table [[a, b], [c, d]] (rows: group 1, group 2; columns: event, no event) with
 * Woolf's log interval, Haldane's +0.5 to every cell when a cell is zero.
 */
export function oddsRatio(counts: TwoByTwoCounts, level = 0.95): OddsRatioInterval {
  requireTable(counts);
  const raw = [counts.a, counts.b, counts.c, counts.d];
  if (raw[0] + raw[1] === 0 || raw[2] + raw[3] === 0) {
    throw statsInputError('odds ratio needs both groups non-empty (a + b > 0 and c + d > 0)');
  }
  const haldane = raw.includes(0);
  const [a, b, c, d] = haldane ? raw.map((value) => value + 0.5) : raw;
  const logEstimate = Math.log((a * d) / (b * c));
  const logStandardError = Math.sqrt(1 / a + 1 / b + 1 / c + 1 / d);
  const z = zCritical(level);
  return {
    estimate: Math.exp(logEstimate),
    lower: Math.exp(logEstimate - z * logStandardError),
    upper: Math.exp(logEstimate + z * logStandardError),
    level,
    method: haldane ? 'woolf-haldane' : 'woolf',
    logEstimate,
    logStandardError,
  };
}
