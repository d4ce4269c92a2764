/**
 * Planning: sample size and achieved power for comparing two accuracies with a two-sided test at
 * level alpha, by the normal approximation (the far rejection tail is ignored, as in R's
 * `power.prop.test` with strict = FALSE).
 *
 * - Independent groups (Fleiss, Levin & Paik 2003, "Statistical Methods for Rates and Proportions"
 *   3rd ed., section 4.2): per group
 *     n' = [z_{1-alpha/2} sqrt(2 pbar qbar) + z_{power} sqrt(p1 q1 + p2 q2)]^2 / (p2 - p1)^2,
 *   pbar = (p1 + p2) / 2, and with the continuity correction (Casagrande, Pike & Smith 1978;
 *   Fleiss, Tytun & Ury 1980, Biometrics 36:343-346)
 *     n = n'/4 [1 + sqrt(1 + 4 / (n' |p2 - p1|))]^2.
 *   Power at n per group inverts these: Phi((|p2 - p1| sqrt(n') - z_{1-alpha/2} sqrt(2 pbar qbar)) /
 *   sqrt(p1 q1 + p2 q2)), with n' = n uncorrected and n' = (n - 1/|p2 - p1|)^2 / n (the exact
 *   inverse of the correction) corrected.
 * - Paired samples, McNemar's test (Connor 1987, "Sample size for testing differences in
 *   proportions for the paired-sample design", Biometrics 43:207-211): with discordant proportions
 *   p10 (only A correct) and p01 (only B correct), psi = p10 + p01 and delta = p10 - p01, pairs
 *     n = [z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2)]^2 / delta^2,
 *   and power at n pairs Phi((|delta| sqrt(n) - z_{1-alpha/2} sqrt(psi)) / sqrt(psi - delta^2)).
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { zQuantile } from './critical';
import { requireOpenUnit, requirePositiveCount, requireUnit, statsInputError } from './validate';

export interface TestLevelOptions {
  /** Two-sided significance level (default 0.05). */
  readonly alpha?: number;
}

export interface TwoProportionPowerOptions extends TestLevelOptions {
  /** Fleiss' continuity correction (default false). */
  readonly continuityCorrection?: boolean;
}

export interface TargetPowerOptions {
  /** Target power (default 0.8). */
  readonly power?: number;
}

export interface SampleSize {
  /** Required size, rounded up: per group (independent) or pairs (McNemar). */
  readonly n: number;
  /** The formula's value before rounding up. */
  readonly unrounded: number;
  readonly method: 'fleiss' | 'fleiss-continuity-corrected' | 'connor';
}

interface TwoProportionTerms {
  readonly difference: number;
  /** sqrt(2 pbar qbar): SD of the difference under H0 (times sqrt(n)). */
  readonly nullSd: number;
  /** sqrt(p1 q1 + p2 q2): SD of the difference under H1 (times sqrt(n)). */
  readonly alternativeSd: number;
}

function twoProportionTerms(p1: number, p2: number): TwoProportionTerms {
  requireUnit('p1', p1);
  requireUnit('p2', p2);
  if (p1 === p2)
    throw statsInputError(`p1 and p2 must differ to have a difference to detect, both are ${p1}`);
  const pbar = (p1 + p2) / 2;
  return {
    difference: Math.abs(p2 - p1),
    nullSd: Math.sqrt(2 * pbar * (1 - pbar)),
    alternativeSd: Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)),
  };
}

function zAlphaHalf(options: TestLevelOptions): number {
  return zQuantile(1 - requireOpenUnit('alpha', options.alpha ?? 0.05) / 2);
}

/** Per-group sample size to detect p1 vs p2 (Fleiss, Levin & Paik 2003, section 4.2). */
export function sampleSizeTwoProportions(
  p1: number,
  p2: number,
  options: TwoProportionPowerOptions & TargetPowerOptions = {},
): SampleSize {
  const { difference, nullSd, alternativeSd } = twoProportionTerms(p1, p2);
  const zBeta = zQuantile(requireOpenUnit('power', options.power ?? 0.8));
  const uncorrected = Math.pow((zAlphaHalf(options) * nullSd + zBeta * alternativeSd) / difference, 2);
  if (!options.continuityCorrection)
    return { n: Math.ceil(uncorrected), unrounded: uncorrected, method: 'fleiss' };
  const corrected = (uncorrected / 4) * Math.pow(1 + Math.sqrt(1 + 4 / (uncorrected * difference)), 2);
  return { n: Math.ceil(corrected), unrounded: corrected, method: 'fleiss-continuity-corrected' };
}

/** Power of the two-sided two-proportion test with n per group (Fleiss, Levin & Paik 2003). */
export function powerTwoProportions(
  p1: number,
  p2: number,
  nPerGroup: number,
  options: TwoProportionPowerOptions = {},
): number {
  const { difference, nullSd, alternativeSd } = twoProportionTerms(p1, p2);
  requirePositiveCount('nPerGroup', nPerGroup);
  const effectiveN = options.continuityCorrection
    ? Math.pow(Math.max(0, nPerGroup - 1 / difference), 2) / nPerGroup
    : nPerGroup;
  return normalCdf((difference * Math.sqrt(effectiveN) - zAlphaHalf(options) * nullSd) / alternativeSd, 0, 1);
}

interface DiscordantTerms {
  readonly psi: number;
  readonly delta: number;
}

function discordantTerms(p10: number, p01: number): DiscordantTerms {
  requireUnit('p10', p10);
  requireUnit('p01', p01);
  if (p10 + p01 > 1)
    throw statsInputError(`discordant proportions p10 + p01 cannot exceed 1, got ${p10 + p01}`);
  if (p10 === p01)
    throw statsInputError(`p10 and p01 must differ to have a difference to detect, both are ${p10}`);
  return { psi: p10 + p01, delta: Math.abs(p10 - p01) };
}

/** Number of pairs for McNemar's test given discordant proportions p10, p01 (Connor 1987). */
export function sampleSizeMcNemar(
  p10: number,
  p01: number,
  options: TestLevelOptions & TargetPowerOptions = {},
): SampleSize {
  const { psi, delta } = discordantTerms(p10, p01);
  const zBeta = zQuantile(requireOpenUnit('power', options.power ?? 0.8));
  const pairs = Math.pow(
    (zAlphaHalf(options) * Math.sqrt(psi) + zBeta * Math.sqrt(psi - delta * delta)) / delta,
    2,
  );
  return { n: Math.ceil(pairs), unrounded: pairs, method: 'connor' };
}

/** Power of McNemar's test with n pairs and discordant proportions p10, p01 (Connor 1987). */
export function powerMcNemar(
  p10: number,
  p01: number,
  nPairs: number,
  options: TestLevelOptions = {},
): number {
  const { psi, delta } = discordantTerms(p10, p01);
  requirePositiveCount('nPairs', nPairs);
  return normalCdf(
    (delta * Math.sqrt(nPairs) - zAlphaHalf(options) * Math.sqrt(psi)) / Math.sqrt(psi - delta * delta),
    0,
    1,
  );
}
