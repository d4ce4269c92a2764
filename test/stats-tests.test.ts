import { describe, expect, it } from 'vitest';
import {
  benjaminiHochbergAdjust,
  classifyPractical,
  holmAdjust,
  mcnemarTest,
  pairedTable,
} from '../core/stats';

describe('McNemar test', () => {
  it('matches the airway hyper-responsiveness example of Fagerland, Lydersen & Laake (2013)', () => {
    // Fagerland, Lydersen & Laake (2013), BMC Med Res Methodol 13:91: AHR before and after stem
    // cell transplantation (Bentur et al. 2009), table [[1, 1], [7, 12]]: exact conditional
    // p = 0.070, mid-p = 0.039, asymptotic McNemar p = 0.034. By hand: 2 (1 + 8) / 256 and
    // 2 (1 + 8) / 256 - 8 / 256; confirmed with statsmodels mcnemar(exact=True).
    const result = mcnemarTest(1, 7);
    expect(result.exactP).toBeCloseTo(0.07, 3);
    expect(result.exactP).toBe(18 / 256);
    expect(result.midP).toBeCloseTo(0.039, 3);
    expect(result.midP).toBe(10 / 256);
    expect(result.statistic).toBe(4.5);
    expect(result.asymptoticP!).toBeCloseTo(0.034, 3);
    expect(result.discordant).toBe(8);
  });

  it('matches the presidential approval ratings example of Agresti', () => {
    // Agresti (2013), "Categorical Data Analysis" 3rd ed., section 11.1, Table 11.1: approval in
    // two surveys of 1600 people, [[794, 150], [86, 570]]. z = (86 - 150) / sqrt(236) = -4.17,
    // McNemar statistic z^2 = 17.36, P < 0.001.
    const result = mcnemarTest(150, 86);
    expect(result.statistic!).toBeCloseTo(17.36, 2);
    expect(Math.sqrt(result.statistic!)).toBeCloseTo(4.17, 2);
    expect(result.asymptoticP!).toBeLessThan(0.001);
    expect(result.exactP).toBeLessThan(0.001);
    expect(result.midP).toBeLessThan(result.exactP);
  });

  it('is symmetric, caps the exact p at 1 and handles no discordant pairs', () => {
    expect(mcnemarTest(7, 1)).toMatchObject({ exactP: 18 / 256, midP: 10 / 256 });
    // b = c: the exact two-sided p is capped at 1, and 2 P(X <= k) - P(X = k) = 1 exactly.
    expect(mcnemarTest(3, 3)).toMatchObject({ exactP: 1, statistic: 0, asymptoticP: 1 });
    expect(mcnemarTest(3, 3).midP).toBeCloseTo(1, 12);
    expect(mcnemarTest(0, 0)).toEqual({
      b: 0,
      c: 0,
      discordant: 0,
      exactP: 1,
      midP: 1,
      statistic: null,
      asymptoticP: null,
    });
    expect(() => mcnemarTest(-1, 2)).toThrow(/b must be a non-negative integer/);
    expect(() => mcnemarTest(1, 2.5)).toThrow(/c must be a non-negative integer/);
  });

  it('builds the paired table from two correctness vectors', () => {
    // Agresti's table above as per-person outcomes (approve = correct).
    const first: boolean[] = [];
    const second: boolean[] = [];
    const add = (count: number, a: boolean, b: boolean) => {
      for (let i = 0; i < count; i++) {
        first.push(a);
        second.push(b);
      }
    };
    add(794, true, true);
    add(150, true, false);
    add(86, false, true);
    add(570, false, false);
    const table = pairedTable(first, second);
    expect(table).toEqual({
      a: 794,
      b: 150,
      c: 86,
      d: 570,
      n: 1600,
      table: [
        [794, 150],
        [86, 570],
      ],
    });
    expect(pairedTable(Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([1, 0, 1, 0]))).toMatchObject({
      a: 1,
      b: 1,
      c: 1,
      d: 1,
    });
    expect(() => pairedTable([true], [true, false])).toThrow(/same samples: lengths 1 and 2/);
    expect(() => pairedTable([], [])).toThrow(/empty \(n = 0\)/);
    expect(() => pairedTable([1, 2], [1, 0])).toThrow(/correctA\[1\] must be a boolean or 0\/1, got 2/);
  });
});

describe('multiplicity adjustments', () => {
  // Benjamini & Hochberg (1995), JRSS B 57:289-300, section 4: the 15 p-values of Neuhaus et al.
  // (1992). At q = 0.05 the FDR procedure rejects the four smallest; the Bonferroni-type
  // procedures that control the family-wise error rate reject only the three smallest (p <= 0.0019).
  const neuhaus = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528,
    0.759, 1.0,
  ];

  it('Benjamini-Hochberg rejects the four smallest of the Neuhaus p-values at q = 0.05', () => {
    const result = benjaminiHochbergAdjust(neuhaus, 0.05);
    expect(result.reject).toEqual([...Array<boolean>(4).fill(true), ...Array<boolean>(11).fill(false)]);
    // By hand from the definition min_{j >= i} m p_(j) / j (also statsmodels multipletests
    // 'fdr_bh'): 15 x .0001 / 1, 15 x .0004 / 2, 15 x .0019 / 3, 15 x .0095 / 4, and rank 6 takes
    // rank 7's 15 x .0298 / 7.
    const adjusted = result.adjusted;
    expect(adjusted[0]).toBeCloseTo(0.0015, 12);
    expect(adjusted[1]).toBeCloseTo(0.003, 12);
    expect(adjusted[2]).toBeCloseTo(0.0095, 12);
    expect(adjusted[3]).toBeCloseTo(0.035625, 12);
    expect(adjusted[5]).toBeCloseTo((15 * 0.0298) / 7, 12);
    expect(adjusted[14]).toBe(1);
  });

  it('Holm rejects the three smallest of the Neuhaus p-values at alpha = 0.05', () => {
    // Holm (1979) lies between Bonferroni and Hochberg (1988) in power, both of which reject the
    // three smallest here (BH 1995, section 4), and 0.0095 > 0.05 / 12 stops the step-down.
    const result = holmAdjust(neuhaus, 0.05);
    expect(result.reject).toEqual([...Array<boolean>(3).fill(true), ...Array<boolean>(12).fill(false)]);
    // By hand from max_{j <= i} min(1, (m - j + 1) p_(j)) (Wright 1992; statsmodels 'holm'):
    // 15 x .0001, 14 x .0004, 13 x .0019, 12 x .0095, 11 x .0201, 10 x .0278 carried to ranks 7-8.
    const expected = [0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213, 1, 1, 1, 1, 1, 1];
    result.adjusted.forEach((p, i) => expect(p).toBeCloseTo(expected[i], 12));
  });

  it('keeps the input order, is monotone in p and capped at 1', () => {
    const shuffled = [7, 0, 12, 3, 9, 1, 14, 5, 2, 11, 8, 4, 13, 6, 10];
    for (const adjust of [holmAdjust, benjaminiHochbergAdjust]) {
      const sorted = adjust(neuhaus);
      const permuted = adjust(shuffled.map((i) => neuhaus[i]));
      permuted.adjusted.forEach((p, position) => expect(p).toBe(sorted.adjusted[shuffled[position]]));
      for (let i = 1; i < neuhaus.length; i++) {
        expect(sorted.adjusted[i]).toBeGreaterThanOrEqual(sorted.adjusted[i - 1]);
        expect(sorted.adjusted[i]).toBeGreaterThanOrEqual(neuhaus[i]);
        expect(sorted.adjusted[i]).toBeLessThanOrEqual(1);
      }
    }
  });

  it('handles ties, empty families and bad input', () => {
    expect(holmAdjust([0.01, 0.01]).adjusted).toEqual([0.02, 0.02]);
    expect(benjaminiHochbergAdjust([0.04, 0.03]).adjusted).toEqual([0.04, 0.04]);
    expect(holmAdjust([]).adjusted).toEqual([]);
    expect(() => holmAdjust([0.2, 1.5])).toThrow(/pValues\[1\] must lie in \[0, 1\], got 1.5/);
    expect(() => benjaminiHochbergAdjust([0.2, Number.NaN])).toThrow(/pValues\[1\] must lie in \[0, 1\]/);
    expect(() => benjaminiHochbergAdjust([0.2], 0)).toThrow(/alpha must lie strictly between 0 and 1/);
  });
});

describe('practical significance', () => {
  // The four outcomes of combining a significance test with an equivalence test, Lakens (2017),
  // Soc Psychol Personal Sci 8:355-362, Figure 1, with smallest effect of interest delta = 0.05
  // (5 accuracy points) and alpha = 0.05.
  const options = { delta: 0.05, alpha: 0.05 };

  it('significant and beyond the bounds: relevant (a minimal-effect test passes)', () => {
    expect(classifyPractical({ lower: 0.06, upper: 0.12 }, 0.001, options)).toEqual({
      verdict: 'relevant',
      significant: true,
      beyondDelta: 'positive',
      withinDelta: false,
    });
    expect(classifyPractical({ lower: -0.2, upper: -0.05 }, 0.001, options)).toMatchObject({
      verdict: 'relevant',
      beyondDelta: 'negative',
    });
  });

  it('significant but inside the bounds: negligible (statistically different and equivalent)', () => {
    expect(classifyPractical({ lower: 0.01, upper: 0.03 }, 0.002, options)).toMatchObject({
      verdict: 'negligible',
      withinDelta: true,
    });
  });

  it('not significant and inside the bounds: equivalent', () => {
    expect(classifyPractical({ lower: -0.02, upper: 0.03 }, 0.4, options)).toMatchObject({
      verdict: 'equivalent',
      significant: false,
    });
  });

  it('everything else is inconclusive', () => {
    // Significant, but the interval straddles delta: the effect may or may not matter.
    expect(classifyPractical({ lower: 0.01, upper: 0.09 }, 0.01, options).verdict).toBe('inconclusive');
    // Neither different nor equivalent: too imprecise (Lakens 2017, Figure 1, "undetermined").
    expect(classifyPractical({ lower: -0.04, upper: 0.09 }, 0.3, options).verdict).toBe('inconclusive');
    // An adjusted p-value above alpha with an interval beyond delta.
    expect(classifyPractical({ lower: 0.06, upper: 0.2 }, 0.08, options).verdict).toBe('inconclusive');
  });

  it('treats delta as relevant and the equivalence bounds as open', () => {
    expect(classifyPractical({ lower: 0.05, upper: 0.1 }, 0.001, options).verdict).toBe('relevant');
    expect(classifyPractical({ lower: -0.05, upper: 0.02 }, 0.5, options).verdict).toBe('inconclusive');
    expect(classifyPractical({ lower: -0.049, upper: 0.02 }, 0.5, options).verdict).toBe('equivalent');
  });

  it('rejects bad input', () => {
    expect(() => classifyPractical({ lower: 0.2, upper: 0.1 }, 0.5, options)).toThrow(
      /lower \(0.2\) exceeds upper/,
    );
    expect(() => classifyPractical({ lower: 0, upper: 0.1 }, 0.5, { delta: 0 })).toThrow(/delta must be/);
    expect(() => classifyPractical({ lower: 0, upper: 0.1 }, 2, options)).toThrow(
      /pValue must lie in \[0, 1\]/,
    );
    expect(() => classifyPractical({ lower: 0, upper: 0.1 }, 0.5, { delta: 0.1, alpha: 1 })).toThrow(/alpha/);
  });
});
