/**
 * DerSimonian-Laird random-effects meta-analysis of k effects y_i with within-study variances v_i
 * (DerSimonian & Laird 1986, "Meta-analysis in clinical trials", Control Clin Trials 7:177-188):
 *   w_i = 1/v_i, fixed-effect mean y_FE = sum w y / sum w, Cochran's Q = sum w (y - y_FE)^2 on
 *   k - 1 df, tau^2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)),
 *   w*_i = 1/(v_i + tau^2), pooled mu = sum w* y / sum w*, SE = 1/sqrt(sum w*),
 *   CI mu -+ z SE, z test p = 2 Phi(-|mu| / SE);
 *   I^2 = max(0, (Q - (k - 1)) / Q) (Higgins & Thompson 2002, Stat Med 21:1539-1558).
 * As metafor `rma(yi, vi, method = "DL")` (Viechtbauer 2010, J Stat Softw 36(3)).
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { zCritical } from './critical';
import type { ConfidenceInterval } from './types';
import { requireFinite, requireOpenUnit, statsInputError } from './validate';

export interface RandomEffectsResult extends ConfidenceInterval {
  readonly method: 'dersimonian-laird';
  readonly k: number;
  readonly standardError: number;
  /** z test of mu = 0. */
  readonly z: number;
  readonly pValue: number;
  /** Between-study variance tau^2 (DerSimonian-Laird moment estimator). */
  readonly tau2: number;
  /** Cochran's Q and its chi-square (k - 1 df) p-value (1 - cdf: exact to about 1e-16, 0 below). */
  readonly q: number;
  readonly qDf: number;
  readonly qPValue: number;
  /** Share of the total variability due to heterogeneity, in [0, 1]. */
  readonly i2: number;
  /** Inverse-variance fixed-effect estimate, for reference. */
  readonly fixedEstimate: number;
}

function weightedMean(values: readonly number[], weights: readonly number[]): number {
  let sum = 0;
  let total = 0;
  values.forEach((value, i) => {
    sum += weights[i] * value;
    total += weights[i];
  });
  return sum / total;
}

/** DerSimonian-Laird random-effects pooled estimate of `effects` with sampling `variances`. */
export function derSimonianLaird(
  effects: readonly number[],
  variances: readonly number[],
  level = 0.95,
): RandomEffectsResult {
  requireOpenUnit('level', level);
  const k = effects.length;
  if (variances.length !== k) {
    throw statsInputError(`effects (${k}) and variances (${variances.length}) must have the same length`);
  }
  if (k < 2) throw statsInputError(`a random-effects meta-analysis needs at least 2 effects, got ${k}`);
  effects.forEach((value, i) => requireFinite(`effects[${i}]`, value));
  variances.forEach((value, i) => {
    if (!(Number.isFinite(value) && value > 0)) {
      throw statsInputError(`variances[${i}] must be a finite positive number, got ${value}`);
    }
  });

  const weights = variances.map((v) => 1 / v);
  const fixedEstimate = weightedMean(effects, weights);
  const q = effects.reduce((sum, y, i) => sum + weights[i] * (y - fixedEstimate) * (y - fixedEstimate), 0);
  const qDf = k - 1;
  const sumW = weights.reduce((sum, w) => sum + w, 0);
  const sumW2 = weights.reduce((sum, w) => sum + w * w, 0);
  const tau2 = Math.max(0, (q - qDf) / (sumW - sumW2 / sumW));

  const randomWeights = variances.map((v) => 1 / (v + tau2));
  const estimate = weightedMean(effects, randomWeights);
  const standardError = 1 / Math.sqrt(randomWeights.reduce((sum, w) => sum + w, 0));
  const halfWidth = zCritical(level) * standardError;
  const z = estimate / standardError;
  return {
    estimate,
    lower: estimate - halfWidth,
    upper: estimate + halfWidth,
    level,
    method: 'dersimonian-laird',
    k,
    standardError,
    z,
    pValue: 2 * normalCdf(-Math.abs(z), 0, 1),
    tau2,
    q,
    qDf,
    qPValue: 1 - chisquareCdf(q, qDf),
    i2: q > 0 ? Math.max(0, (q - qDf) / q) : 0,
    fixedEstimate,
  };
}
