/**
 * Multiplicity-adjusted p-values, in the input order, with reject flags at alpha (a hypothesis is
 * rejected when its adjusted p-value is <= alpha). Both match statsmodels
 * `multipletests(p, alpha, method='holm' | 'fdr_bh')`.
 *
 * - Holm (1979), "A simple sequentially rejective multiple test procedure", Scand J Stat 6:65-70:
 *   step-down, controls the family-wise error rate. With p_(1) <= ... <= p_(m),
 *   adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)) (Wright 1992, "Adjusted P-values for
 *   simultaneous inference", Biometrics 48:1005-1013).
 * - Benjamini & Hochberg (1995), "Controlling the false discovery rate", JRSS B 57:289-300:
 *   step-up, controls the false discovery rate under independence.
 *   adjusted p_(i) = min_{j >= i} min(1, m p_(j) / j).
 */
import { requireOpenUnit, requireUnit } from './validate';

export type AdjustmentMethod = 'holm' | 'benjamini-hochberg';

export interface AdjustedPValues {
  readonly method: AdjustmentMethod;
  readonly alpha: number;
  /** Adjusted p-values, in the order of the input. */
  readonly adjusted: readonly number[];
  /** adjusted[i] <= alpha. */
  readonly reject: readonly boolean[];
}

/** Indices of the p-values in ascending order (ties keep input order, so results are deterministic). */
function ascendingOrder(pValues: readonly number[]): number[] {
  pValues.forEach((p, i) => requireUnit(`pValues[${i}]`, p));
  return pValues.map((_, i) => i).sort((i, j) => pValues[i] - pValues[j] || i - j);
}

function result(method: AdjustmentMethod, alpha: number, adjusted: number[]): AdjustedPValues {
  return { method, alpha, adjusted, reject: adjusted.map((p) => p <= alpha) };
}

/** Holm step-down adjusted p-values (Holm 1979). */
export function holmAdjust(pValues: readonly number[], alpha = 0.05): AdjustedPValues {
  requireOpenUnit('alpha', alpha);
  const order = ascendingOrder(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[index]));
    adjusted[index] = running;
  });
  return result('holm', alpha, adjusted);
}

/** Benjamini-Hochberg step-up adjusted p-values (Benjamini & Hochberg 1995). */
export function benjaminiHochbergAdjust(pValues: readonly number[], alpha = 0.05): AdjustedPValues {
  requireOpenUnit('alpha', alpha);
  const order = ascendingOrder(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const index = order[rank];
    running = Math.min(running, (m * pValues[index]) / (rank + 1));
    adjusted[index] = running;
  }
  return result('benjamini-hochberg', alpha, adjusted);
}
