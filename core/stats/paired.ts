/**
 * Paired comparison of two classifiers on the same samples: the 2x2 table of their correctness
 * and McNemar's test on its discordant cells.
 *
 * Table convention (Agresti 2013, "Categorical Data Analysis" 3rd ed., section 11.1):
 *
 *                    B correct   B wrong
 *   A correct            a          b
 *   A wrong              c          d
 *
 * so b counts samples only A gets right and c samples only B gets right.
 *
 * - Exact (conditional) McNemar test: under H0 b ~ Binomial(b + c, 1/2) given b + c; two-sided
 *   p = min(1, 2 P(X <= min(b, c))), as statsmodels `mcnemar(table, exact=True)`.
 * - Mid-p McNemar test: Fagerland, Lydersen & Laake (2013), "The McNemar test for binary
 *   matched-pairs data: mid-p and asymptotic are better than exact conditional", BMC Med Res
 *   Methodol 13:91: p_mid = 2 P(X <= min(b, c)) - P(X = min(b, c)), the exact p minus the point
 *   probability (it never exceeds 1, so needs no cap).
 * - Asymptotic McNemar test without continuity correction (McNemar 1947, Psychometrika
 *   12:153-157): X^2 = (b - c)^2 / (b + c) on 1 df, p = 2 Phi(-|b - c| / sqrt(b + c)).
 */
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import binomialPmf from '@stdlib/stats-base-dists-binomial-pmf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import type { TwoByTwoCounts } from './types';
import { requireCount, statsInputError } from './validate';

/** a: both correct, b: only A correct, c: only B correct, d: both wrong. */
export interface PairedTable extends TwoByTwoCounts {
  readonly n: number;
  /** [[a, b], [c, d]]: rows A correct/wrong, columns B correct/wrong. */
  readonly table: readonly [readonly [number, number], readonly [number, number]];
}

export interface McNemarResult {
  readonly b: number;
  readonly c: number;
  readonly discordant: number;
  /** Two-sided exact conditional p-value (binomial, capped at 1). */
  readonly exactP: number;
  /** Two-sided mid-p value (Fagerland et al. 2013). */
  readonly midP: number;
  /** McNemar's X^2 without continuity correction; null when there are no discordant pairs. */
  readonly statistic: number | null;
  /** Asymptotic chi-square (1 df) p-value; null when there are no discordant pairs. */
  readonly asymptoticP: number | null;
}

/** A correctness vector: booleans, or 0/1 numbers (e.g. a Uint8Array from an evaluation). */
export type CorrectnessVector = ArrayLike<boolean> | ArrayLike<number>;

function isCorrect(vector: CorrectnessVector, index: number, name: string): boolean {
  const value = vector[index];
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  throw statsInputError(`${name}[${index}] must be a boolean or 0/1, got ${String(value)}`);
}

/** The paired 2x2 table of two correctness vectors over the same samples, in the same order. */
export function pairedTable(correctA: CorrectnessVector, correctB: CorrectnessVector): PairedTable {
  if (correctA.length !== correctB.length) {
    throw statsInputError(
      `paired correctness vectors must cover the same samples: lengths ${correctA.length} and ${correctB.length}`,
    );
  }
  if (correctA.length === 0) throw statsInputError('paired correctness vectors are empty (n = 0)');
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let i = 0; i < correctA.length; i++) {
    const okA = isCorrect(correctA, i, 'correctA');
    const okB = isCorrect(correctB, i, 'correctB');
    if (okA && okB) a++;
    else if (okA) b++;
    else if (okB) c++;
    else d++;
  }
  return {
    a,
    b,
    c,
    d,
    n: correctA.length,
    table: [
      [a, b],
      [c, d],
    ],
  };
}

/** McNemar's test on the discordant counts b (only A correct) and c (only B correct). */
export function mcnemarTest(b: number, c: number): McNemarResult {
  requireCount('b', b);
  requireCount('c', c);
  const discordant = b + c;
  const smaller = Math.min(b, c);
  const lowerTail = binomialCdf(smaller, discordant, 0.5);
  const pointProbability = binomialPmf(smaller, discordant, 0.5);
  const asymptotic =
    discordant === 0
      ? { statistic: null, asymptoticP: null }
      : {
          statistic: ((b - c) * (b - c)) / discordant,
          asymptoticP: 2 * normalCdf(-Math.abs(b - c) / Math.sqrt(discordant), 0, 1),
        };
  return {
    b,
    c,
    discordant,
    exactP: Math.min(1, 2 * lowerTail),
    midP: 2 * lowerTail - pointProbability,
    ...asymptotic,
  };
}
