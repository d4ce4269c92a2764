import { describe, expect, it } from 'vitest';
import {
  bcaInterval,
  clopperPearsonInterval,
  cohensH,
  derSimonianLaird,
  holmAdjust,
  jackknifeAcceleration,
  mcnemarTest,
  meanTInterval,
  oddsRatio,
  pairedBootstrapDifference,
  pairedRiskDifference,
  replicateSummary,
  riskDifference,
  sampleSizeMcNemar,
  STATS_INPUT_ERROR,
  wilsonInterval,
  type ConfidenceInterval,
} from '../core/stats';
import { TempestInputError } from '../core/errors';

/** Published limits are rounded to `digits` decimals: ours must round to the same numbers. */
function expectLimits(interval: ConfidenceInterval, lower: number, upper: number, digits = 4): void {
  expect(interval.lower).toBeCloseTo(lower, digits);
  expect(interval.upper).toBeCloseTo(upper, digits);
}

describe('argument errors', () => {
  it('are non-retryable TempestInputErrors of one kind, from every module', () => {
    const failures = [
      () => wilsonInterval(1, 0),
      () => mcnemarTest(-1, 0),
      () => bcaInterval(5, () => 1, {}),
      () => replicateSummary([]),
      () => holmAdjust([2]),
      () => riskDifference(1, 2, 3, 2),
      () => sampleSizeMcNemar(0.1, 0.1),
      () => derSimonianLaird([1], [1]),
    ];
    for (const failure of failures) {
      expect(failure).toThrow(TempestInputError);
      try {
        failure();
      } catch (error) {
        expect((error as TempestInputError).kind).toBe(STATS_INPUT_ERROR);
      }
    }
  });
});

describe('single proportion: Wilson and Clopper-Pearson', () => {
  // Newcombe (1998a), "Two-sided confidence intervals for the single proportion: comparison of
  // seven methods", Stat Med 17:857-872, table of example intervals for 81/263, 15/148, 0/20 and
  // 1/29: method 3 (Wilson score) and method 5 (Clopper-Pearson exact). Also equal to statsmodels
  // proportion_confint(method='wilson' | 'beta').
  const table1 = [
    { k: 81, n: 263, wilson: [0.2553, 0.3662], exact: [0.2527, 0.3676] },
    { k: 15, n: 148, wilson: [0.0624, 0.1605], exact: [0.0578, 0.1617] },
    { k: 0, n: 20, wilson: [0.0, 0.1611], exact: [0.0, 0.1684] },
    { k: 1, n: 29, wilson: [0.0061, 0.1718], exact: [0.0009, 0.1776] },
  ];

  it.each(table1)('$k/$n matches Newcombe (1998a)', ({ k, n, wilson, exact }) => {
    const w = wilsonInterval(k, n);
    expectLimits(w, wilson[0], wilson[1]);
    expect(w).toMatchObject({ estimate: k / n, level: 0.95, method: 'wilson' });
    const cp = clopperPearsonInterval(k, n);
    expectLimits(cp, exact[0], exact[1]);
    expect(cp.method).toBe('clopper-pearson');
  });

  it('pins the limits at 0 and 1 at k = 0 and k = n', () => {
    expect(wilsonInterval(0, 20).lower).toBe(0);
    expect(clopperPearsonInterval(0, 20).lower).toBe(0);
    // Mirror image of 0/20 (Newcombe 1998a: 0/20 upper limits .1611 and .1684).
    const full = clopperPearsonInterval(20, 20);
    expect(full.upper).toBe(1);
    expect(full.lower).toBeCloseTo(1 - 0.1684, 4);
    expect(wilsonInterval(20, 20).upper).toBe(1);
    // Closed form of the exact interval at k = 0: upper = 1 - (alpha/2)^(1/n) (Clopper & Pearson 1934).
    expect(clopperPearsonInterval(0, 20).upper).toBeCloseTo(1 - Math.pow(0.025, 1 / 20), 12);
  });

  it('widens with the level', () => {
    const narrow = wilsonInterval(81, 263, 0.9);
    const wide = wilsonInterval(81, 263, 0.99);
    expect(wide.lower).toBeLessThan(narrow.lower);
    expect(wide.upper).toBeGreaterThan(narrow.upper);
  });

  it('rejects n = 0, k > n, non-integers and levels outside (0, 1)', () => {
    expect(() => wilsonInterval(0, 0)).toThrow(/n must be a positive integer, got 0/);
    expect(() => clopperPearsonInterval(5, 4)).toThrow(/successes \(5\) cannot exceed n \(4\)/);
    expect(() => wilsonInterval(1.5, 4)).toThrow(/successes must be a non-negative integer/);
    expect(() => wilsonInterval(-1, 4)).toThrow(/successes must be a non-negative integer/);
    expect(() => wilsonInterval(1, 4, 1)).toThrow(/level must lie strictly between 0 and 1, got 1/);
    expect(() => clopperPearsonInterval(1, 4, 0)).toThrow(/level must lie strictly between 0 and 1, got 0/);
    expect(() => clopperPearsonInterval(1, 4, 95)).toThrow(/level must lie strictly between 0 and 1/);
  });
});

describe('risk difference of independent proportions (Newcombe 1998b, method 10)', () => {
  // Newcombe (1998b), "Interval estimation for the difference between independent proportions:
  // comparison of eleven methods", Stat Med 17:873-890, table of example intervals, method 10
  // (hybrid score, no continuity correction), examples (a), (b), (d)-(h). Confirmed with a Python
  // transcription of the method.
  const examples = [
    { label: '(a) 56/70 - 48/80', x1: 56, n1: 70, x2: 48, n2: 80, limits: [0.0524, 0.3339] },
    { label: '(b) 9/10 - 3/10', x1: 9, n1: 10, x2: 3, n2: 10, limits: [0.1705, 0.809] },
    { label: '(d) 5/56 - 0/29', x1: 5, n1: 56, x2: 0, n2: 29, limits: [-0.0381, 0.1926] },
    { label: '(e) 0/10 - 0/20', x1: 0, n1: 10, x2: 0, n2: 20, limits: [-0.1611, 0.2775] },
    { label: '(f) 0/10 - 0/10', x1: 0, n1: 10, x2: 0, n2: 10, limits: [-0.2775, 0.2775] },
    { label: '(g) 10/10 - 0/20', x1: 10, n1: 10, x2: 0, n2: 20, limits: [0.6791, 1.0] },
    { label: '(h) 10/10 - 0/10', x1: 10, n1: 10, x2: 0, n2: 10, limits: [0.6075, 1.0] },
  ];

  it.each(examples)('$label', ({ x1, n1, x2, n2, limits }) => {
    const result = riskDifference(x1, n1, x2, n2);
    expect(result.estimate).toBeCloseTo(x1 / n1 - x2 / n2, 12);
    expect(result.method).toBe('newcombe-hybrid-score');
    expectLimits(result, limits[0], limits[1]);
  });

  it('rejects impossible counts', () => {
    expect(() => riskDifference(11, 10, 3, 10)).toThrow(/cannot exceed n/);
    expect(() => riskDifference(1, 10, 0, 0)).toThrow(/n must be a positive integer, got 0/);
    expect(() => riskDifference(1, 10, 0, 10, 1.5)).toThrow(/level must lie strictly between 0 and 1/);
  });
});

describe('risk difference of paired proportions (Newcombe 1998c, method 10)', () => {
  // Newcombe (1998c), "Improved confidence intervals for the difference between binomial
  // proportions based on paired data", Stat Med 17:2635-2650, Table III, method 10 rows; cells
  // (a, b, c, d) with difference (b - c) / n.
  const table3 = [
    { cells: [36, 12, 2, 0], limits: [0.0569, 0.3404] },
    { cells: [20, 12, 2, 16], limits: [0.0562, 0.3292] },
    { cells: [18, 12, 2, 18], limits: [0.0562, 0.329] },
    { cells: [36, 14, 0, 0], limits: [0.1528, 0.4167] },
    { cells: [35, 14, 0, 1], limits: [0.1461, 0.4175] },
    { cells: [18, 14, 0, 18], limits: [0.1441, 0.3963] },
    { cells: [2, 97, 1, 0], limits: [0.8721, 0.9854] },
  ];

  it.each(table3)('cells $cells match Newcombe (1998c) Table III', ({ cells, limits }) => {
    const [a, b, c, d] = cells;
    const result = pairedRiskDifference({ a, b, c, d });
    expect(result.estimate).toBeCloseTo((b - c) / (a + b + c + d), 12);
    expect(result.method).toBe('newcombe-paired-hybrid-score');
    expectLimits(result, limits[0], limits[1]);
  });

  it('matches the textbook example of Fagerland, Lydersen & Laake', () => {
    // Fagerland, Lydersen & Laake (2017), "Statistical Analysis of Contingency Tables", chapter 8:
    // complete response before and after consolidation therapy (Cavo et al. 2012), table
    // [[59, 6], [16, 80]]: Newcombe square-and-add estimate -0.0621 (95% CI -0.1186 to -0.0046), as
    // printed by the book's companion R package contingencytables (tests/testthat/test-ch8.R).
    const result = pairedRiskDifference({ a: 59, b: 6, c: 16, d: 80 });
    expect(result.estimate).toBeCloseTo(-0.0621, 4);
    expectLimits(result, -0.1186, -0.0046);
  });

  it('rejects an empty table and non-count cells', () => {
    expect(() => pairedRiskDifference({ a: 0, b: 0, c: 0, d: 0 })).toThrow(/paired table is empty \(n = 0\)/);
    expect(() => pairedRiskDifference({ a: 1, b: -2, c: 0, d: 0 })).toThrow(
      /b must be a non-negative integer/,
    );
  });
});

describe("odds ratio (Woolf) and Cohen's h", () => {
  it('matches the aspirin and myocardial infarction example of Agresti', () => {
    // Agresti, "Categorical Data Analysis" (2nd ed. 2002, 3rd ed. 2013), chapters 2-3, aspirin
    // and myocardial infarction (Physicians' Health Study): MI yes/no 189/10845 on placebo,
    // 104/10933 on aspirin. theta = 1.832, log theta = 0.605, ASE 0.123, 95% CI (1.44, 2.33).
    const result = oddsRatio({ a: 189, b: 10845, c: 104, d: 10933 });
    expect(result.estimate).toBeCloseTo(1.832, 3);
    expect(result.logEstimate).toBeCloseTo(0.605, 3);
    expect(result.logStandardError).toBeCloseTo(0.123, 3);
    expectLimits(result, 1.44, 2.33, 2);
    expect(result.method).toBe('woolf');
  });

  it("adds Haldane's 0.5 to every cell when a cell is zero", () => {
    // Haldane (1956): (0.5 x 5.5) / (10.5 x 5.5) = 1/21, SE^2 = 1/0.5 + 1/10.5 + 2/5.5 (by hand).
    const result = oddsRatio({ a: 0, b: 10, c: 5, d: 5 });
    expect(result.method).toBe('woolf-haldane');
    expect(result.estimate).toBeCloseTo(1 / 21, 12);
    expect(result.logStandardError).toBeCloseTo(Math.sqrt(2 + 1 / 10.5 + 2 / 5.5), 12);
    expect(result.lower).toBeGreaterThan(0);
    expect(() => oddsRatio({ a: 0, b: 0, c: 3, d: 4 })).toThrow(/both groups non-empty/);
  });

  it("gives Cohen's h from the arcsine transform", () => {
    // Cohen (1988), "Statistical Power Analysis for the Behavioral Sciences" 2nd ed., chapter 6,
    // table of phi = 2 arcsin sqrt(P): 1.047 at P = .25, 1.571 at P = .50 and 2.094 at P = .75.
    expect(cohensH(0.75, 0.25)).toBeCloseTo(2.094 - 1.047, 3);
    expect(cohensH(0.5, 0.25)).toBeCloseTo(1.571 - 1.047, 3);
    expect(cohensH(0.25, 0.5)).toBeCloseTo(-(1.571 - 1.047), 3);
    expect(cohensH(1, 0)).toBeCloseTo(Math.PI, 12);
    expect(() => cohensH(1.2, 0.5)).toThrow(/p1 must lie in \[0, 1\]/);
  });
});

describe('replicate seeds: mean, SD and t interval', () => {
  it("matches Student's sleep data", () => {
    // Student (1908), "The probable error of a mean", Biometrika 6:1-25: additional hours of sleep,
    // drug 2 minus drug 1, for 10 patients (Cushny & Peebles). Student reports mean +1.58 and
    // S.D. 1.17 (divisor n). The paired t interval (9 df) is 0.7001 to 2.4599 hours, as printed by
    // R's t.test(extra ~ group, data = sleep, paired = TRUE) (signs flipped); confirmed with scipy.
    const differences = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4];
    const summary = replicateSummary(differences);
    expect(summary.n).toBe(10);
    expect(summary.mean).toBeCloseTo(1.58, 12);
    expect(summary.sd! * Math.sqrt(9 / 10)).toBeCloseTo(1.17, 2);
    expect(summary.interval).not.toBeNull();
    expectLimits(summary.interval!, 0.7001142, 2.4598858, 6);
    expect(summary.interval!.method).toBe('student-t');
  });

  it('matches the NIST/SEMATECH e-Handbook confidence limits for the mean', () => {
    // NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.5.2 (ZARR13.DAT): N = 195,
    // mean 9.261460, SD 0.022789; 95% limits 9.258242 to 9.264679, 99% limits 9.257215 to 9.265705
    // (computed there from unrounded summaries, hence 5 decimals here).
    expectLimits(meanTInterval(9.26146, 0.022789, 195, 0.95), 9.258242, 9.264679, 5);
    expectLimits(meanTInterval(9.26146, 0.022789, 195, 0.99), 9.257215, 9.265705, 5);
  });

  it('gives a single replicate no interval, and rejects empty or non-finite input', () => {
    expect(replicateSummary([0.91])).toEqual({
      n: 1,
      mean: 0.91,
      sd: null,
      standardError: null,
      interval: null,
    });
    expect(() => replicateSummary([])).toThrow(/no values \(n = 0\)/);
    expect(() => replicateSummary([0.9, Number.NaN])).toThrow(/values\[1\] must be a finite number/);
    expect(() => replicateSummary([0.9, 0.8], 0)).toThrow(/level must lie strictly between 0 and 1/);
    expect(() => meanTInterval(0.9, 0.1, 1)).toThrow(/at least 2 values/);
  });
});

describe('seeded BCa bootstrap', () => {
  // Efron & Tibshirani (1993), "An Introduction to the Bootstrap", Table 14.1: spatial test
  // scores A of 26 children; the statistic is the plug-in variance, theta-hat = 171.5.
  const spatialA = [
    48, 36, 20, 29, 42, 42, 20, 42, 22, 41, 45, 14, 6, 0, 33, 28, 34, 4, 32, 24, 47, 41, 24, 26, 30, 41,
  ];
  const mean = (values: readonly number[], indices: Int32Array): number => {
    let sum = 0;
    for (const i of indices) sum += values[i];
    return sum / indices.length;
  };
  const plugInVariance = (indices: Int32Array): number => {
    const centre = mean(spatialA, indices);
    let sum = 0;
    for (const i of indices) sum += (spatialA[i] - centre) * (spatialA[i] - centre);
    return sum / indices.length;
  };

  // Efron & Tibshirani (1993), Table 3.1: LSAT and GPA of 15 law schools; correlation .776.
  const lsat = [576, 635, 558, 578, 666, 580, 555, 661, 651, 605, 653, 575, 545, 572, 594];
  const gpa = [3.39, 3.3, 2.81, 3.03, 3.44, 3.07, 3.0, 3.43, 3.36, 3.13, 3.12, 2.74, 2.76, 2.88, 2.96];
  const correlation = (indices: Int32Array): number => {
    const mx = mean(lsat, indices);
    const my = mean(gpa, indices);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (const i of indices) {
      sxy += (lsat[i] - mx) * (gpa[i] - my);
      sxx += (lsat[i] - mx) * (lsat[i] - mx);
      syy += (gpa[i] - my) * (gpa[i] - my);
    }
    return sxy / Math.sqrt(sxx * syy);
  };

  it('reproduces the spatial-data BCa interval of Efron & Tibshirani (1993) Table 14.2', () => {
    const result = bcaInterval(spatialA.length, plugInVariance, { seed: 'spatial', level: 0.9 });
    expect(result.method).toBe('BCa');
    expect(result.fallbackReason).toBeNull();
    expect(result.resamples).toBe(2000);
    expect(result.estimate).toBeCloseTo(171.5, 1); // theta-hat, section 14.3
    // The acceleration is deterministic (jackknife): a-hat = .061 (section 14.3, eq. 14.15).
    expect(result.acceleration!).toBeCloseTo(0.061, 3);
    // Published 90% BCa interval from B = 2000: (115.8, 259.6). Both it and ours are one Monte
    // Carlo draw each. Over 200 seeds our endpoints at B = 2000 average 115.7 and 261.0 with SDs
    // 2.0 and 3.6, so the difference of two draws has SD 2.9 and 5.1; we allow 3 SDs.
    expect(Math.abs(result.lower - 115.8)).toBeLessThan(9);
    expect(Math.abs(result.upper - 259.6)).toBeLessThan(15);
  });

  it('is the same bytes for the same seed and different for another seed', () => {
    const options = { seed: { spec: 7, cell: 'law-school' }, level: 0.9 };
    const first = bcaInterval(15, correlation, options);
    const again = bcaInterval(15, correlation, { ...options, seed: { cell: 'law-school', spec: 7 } });
    expect(again).toEqual(first);
    const other = bcaInterval(15, correlation, { ...options, seed: { spec: 8, cell: 'law-school' } });
    expect(other.lower).not.toBe(first.lower);
    expect(other.upper).not.toBe(first.upper);
    expect(other.acceleration).toBe(first.acceleration); // the jackknife involves no randomness
    // An explicit Philox key is used as given.
    expect(bcaInterval(15, correlation, { key: [1, 2], level: 0.9 })).toEqual(
      bcaInterval(15, correlation, { key: [1, 2], level: 0.9 }),
    );
  });

  it('agrees with the published law-school bootstrap standard error', () => {
    const result = bcaInterval(15, correlation, { seed: 'law-school', level: 0.9 });
    expect(result.estimate).toBeCloseTo(0.776, 3); // Efron & Tibshirani (1993), p. 21
    // Efron & Tibshirani (1993) Table 6.1: bootstrap SE of the correlation .132 at B = 3200.
    // Over 200 seeds ours at B = 2000 has SD .0027; with the published draw's own error (~.0023)
    // the difference has SD ~.0035, so 3 SDs is .011.
    expect(Math.abs(result.standardError - 0.132)).toBeLessThan(0.011);
    expect(result.lower).toBeLessThan(result.estimate);
    expect(result.upper).toBeGreaterThan(result.estimate);
    expect(result.upper).toBeLessThanOrEqual(1);
  });

  it('computes the jackknife acceleration of the mean in closed form', () => {
    // For the mean, theta_(i) = (n xbar - x_i) / (n - 1), so U_i = (x_i - xbar) / (n - 1) and
    // a = sum (x - xbar)^3 / (6 (sum (x - xbar)^2)^{3/2}) (Efron & Tibshirani 1993, eq. 14.15).
    const xbar = spatialA.reduce((sum, x) => sum + x, 0) / spatialA.length;
    const m2 = spatialA.reduce((sum, x) => sum + (x - xbar) ** 2, 0);
    const m3 = spatialA.reduce((sum, x) => sum + (x - xbar) ** 3, 0);
    const closedForm = m3 / (6 * Math.pow(m2, 1.5));
    expect(jackknifeAcceleration(spatialA.length, (indices) => mean(spatialA, indices))).toBeCloseTo(
      closedForm,
      12,
    );
    const interval = bcaInterval(spatialA.length, (indices) => mean(spatialA, indices), { seed: 3 });
    expect(interval.acceleration!).toBeCloseTo(closedForm, 12);
  });

  it('uses a seeded grouped jackknife when asked, for large n', () => {
    const statistic = (indices: Int32Array) => mean(spatialA, indices);
    const grouped = bcaInterval(26, statistic, { seed: 1, jackknifeGroups: 13 });
    expect(grouped.jackknifeGroups).toBe(13);
    expect(bcaInterval(26, statistic, { seed: 1, jackknifeGroups: 13 })).toEqual(grouped);
    expect(grouped.acceleration).not.toBe(bcaInterval(26, statistic, { seed: 1 }).acceleration);
    expect(() => bcaInterval(26, statistic, { seed: 1, jackknifeGroups: 1 })).toThrow(/between 2 and n = 26/);
    expect(() => bcaInterval(26, statistic, { seed: 1, jackknifeGroups: 27 })).toThrow(
      /between 2 and n = 26/,
    );
  });

  it('falls back to the percentile interval, and says so, when the bootstrap distribution is degenerate', () => {
    const constant = bcaInterval(10, () => 0.5, { seed: 1 });
    expect(constant).toMatchObject({ method: 'percentile', lower: 0.5, upper: 0.5, biasCorrection: null });
    expect(constant.fallbackReason).toMatch(/all 2000 bootstrap replicates equal 0.5/);
    // A resample (almost surely) repeats some sample, so it has fewer distinct samples than the
    // original: every replicate lies below the estimate and z0 would be infinite.
    const distinct = bcaInterval(26, (indices) => new Set(indices).size, { seed: 1 });
    expect(distinct.method).toBe('percentile');
    expect(distinct.fallbackReason).toMatch(/outside the bootstrap distribution/);
    expect(distinct.upper).toBeLessThan(26);
  });

  it('resamples the same indices for both statistics of a paired difference', () => {
    const a = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const b = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const options = { seed: 'paired', resamples: 500 };
    const paired = pairedBootstrapDifference(
      (indices) => mean(a, indices),
      (indices) => mean(b, indices),
      40,
      options,
    );
    const direct = bcaInterval(40, (indices) => mean(a, indices) - mean(b, indices), options);
    expect(paired).toMatchObject(direct);
    expect(paired.estimateA).toBeCloseTo(26 / 40, 12);
    expect(paired.estimateB).toBeCloseTo(32 / 40, 12);
    expect(paired.estimate).toBeCloseTo(26 / 40 - 32 / 40, 12);
  });

  it('rejects bad arguments with clear errors', () => {
    const statistic = (indices: Int32Array) => mean(spatialA, indices);
    expect(() => bcaInterval(0, statistic, { seed: 1 })).toThrow(/n must be a positive integer, got 0/);
    expect(() => bcaInterval(1, statistic, { seed: 1 })).toThrow(/at least 2 samples/);
    expect(() => bcaInterval(26, statistic, {})).toThrow(/needs a `seed` or a Philox `key`/);
    expect(() => bcaInterval(26, statistic, { seed: 1, level: 1 })).toThrow(
      /level must lie strictly between/,
    );
    expect(() => bcaInterval(26, statistic, { seed: 1, resamples: 0 })).toThrow(
      /resamples must be a positive/,
    );
    expect(() => bcaInterval(26, () => Number.NaN, { seed: 1 })).toThrow(/statistic returned NaN/);
  });
});
