/**
 * Practical significance: does a comparison show an effect that matters, an effect too small to
 * matter, or neither? The decision combines the significance test with the smallest effect of
 * interest delta, following the four outcomes of combining a null-hypothesis test with an
 * equivalence test in Lakens (2017), "Equivalence tests: a practical primer for t tests,
 * correlations, and meta-analyses", Soc Psychol Personal Sci 8:355-362 (Figure 1), and the
 * minimal-effect reading of an interval beyond the bounds in Lakens, Scheel & Isager (2018),
 * "Equivalence testing for psychological research: a tutorial", AMPPS 1:259-269.
 *
 * With significant = (p <= alpha), CI = [lower, upper]:
 *
 *   significant,     CI entirely at or beyond +delta or -delta  -> 'relevant'
 *   significant,     CI strictly inside (-delta, delta)         -> 'negligible' (real but trivial)
 *   not significant, CI strictly inside (-delta, delta)         -> 'equivalent'
 *   anything else                                               -> 'inconclusive'
 *
 * The equivalence bounds are open, as in the two one-sided tests (Schuirmann 1987, J
 * Pharmacokinet Biopharm 15:657-680), where a (1 - 2 alpha) interval inside (-delta, delta) is an
 * alpha-level equivalence test; pass that interval for the exact TOST, a (1 - alpha) interval is
 * conservative. An effect of exactly delta counts as relevant: delta is the smallest effect that
 * matters. The p-value may be multiplicity-adjusted; the CI is used as given.
 */
import { requireFinite, requireOpenUnit, requireUnit, statsInputError } from './validate';

export type PracticalVerdict = 'relevant' | 'negligible' | 'equivalent' | 'inconclusive';

export interface PracticalOptions {
  /** Smallest effect that matters in practice, on the scale of the CI (> 0). */
  readonly delta: number;
  /** Significance level the p-value is compared with (default 0.05). */
  readonly alpha?: number;
}

export interface PracticalClassification {
  readonly verdict: PracticalVerdict;
  readonly significant: boolean;
  /** The CI lies at or beyond +delta (positive) or -delta (negative); null otherwise. */
  readonly beyondDelta: 'positive' | 'negative' | null;
  /** The CI lies strictly inside (-delta, delta). */
  readonly withinDelta: boolean;
}

/** Classify a comparison from the CI of its effect and its (adjusted) p-value. */
export function classifyPractical(
  interval: { readonly lower: number; readonly upper: number },
  pValue: number,
  options: PracticalOptions,
): PracticalClassification {
  const lower = requireFinite('lower', interval.lower);
  const upper = requireFinite('upper', interval.upper);
  if (lower > upper) throw statsInputError(`interval lower (${lower}) exceeds upper (${upper})`);
  requireUnit('pValue', pValue);
  const alpha = requireOpenUnit('alpha', options.alpha ?? 0.05);
  const delta = options.delta;
  if (!(Number.isFinite(delta) && delta > 0))
    throw statsInputError(`delta must be a finite positive number, got ${delta}`);

  const significant = pValue <= alpha;
  const beyondDelta = lower >= delta ? 'positive' : upper <= -delta ? 'negative' : null;
  const withinDelta = lower > -delta && upper < delta;
  const verdict: PracticalVerdict = significant
    ? beyondDelta !== null
      ? 'relevant'
      : withinDelta
        ? 'negligible'
        : 'inconclusive'
    : withinDelta
      ? 'equivalent'
      : 'inconclusive';
  return { verdict, significant, beyondDelta, withinDelta };
}
