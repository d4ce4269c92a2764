import { describe, expect, it } from 'vitest';
import { pairedDifferenceVariance } from '../core/meta';
import {
  derSimonianLaird,
  powerMcNemar,
  powerTwoProportions,
  sampleSizeMcNemar,
  sampleSizeTwoProportions,
} from '../core/stats';

describe('sample size and power for two independent proportions', () => {
  it("matches the documented examples of R's power.prop.test (the same normal approximation)", () => {
    // R stats::power.prop.test help page: power.prop.test(p1 = .50, p2 = .75, power = .90)
    // "=> n = 76.7"; power.prop.test(n = 50, p1 = .50, p2 = .75) "=> power = 0.740". Its equation
    // is Fleiss, Levin & Paik (2003) section 4.2 without continuity correction.
    const size = sampleSizeTwoProportions(0.5, 0.75, { power: 0.9 });
    expect(size.unrounded).toBeCloseTo(76.7, 1);
    expect(size).toMatchObject({ n: 77, method: 'fleiss' });
    expect(powerTwoProportions(0.5, 0.75, 50)).toBeCloseTo(0.74, 3);
  });

  it('matches the continuity-corrected table of Fleiss, Levin & Paik (2003)', () => {
    // Fleiss, Levin & Paik (2003), "Statistical Methods for Rates and Proportions" 3rd ed.,
    // Table A.4 (two-sided alpha = .05, power .80): P1 = .05, P2 = .10 needs 474 per group with the
    // continuity correction (n' = 434.4 uncorrected); also the closed form checked in Python.
    expect(sampleSizeTwoProportions(0.05, 0.1, { continuityCorrection: true })).toMatchObject({
      n: 474,
      method: 'fleiss-continuity-corrected',
    });
    expect(sampleSizeTwoProportions(0.05, 0.1).unrounded).toBeCloseTo(434.4, 1);
    expect(sampleSizeTwoProportions(0.1, 0.05, { continuityCorrection: true }).n).toBe(474);
  });

  it('inverts its own sample size: power at the unrounded n is the target power', () => {
    for (const continuityCorrection of [false, true]) {
      const size = sampleSizeTwoProportions(0.6, 0.75, { power: 0.85, alpha: 0.01, continuityCorrection });
      expect(
        powerTwoProportions(0.6, 0.75, size.n, { alpha: 0.01, continuityCorrection }),
      ).toBeGreaterThanOrEqual(0.85);
      // At the unrounded size the exact inverse holds (n' = (n - 1/|d|)^2 / n undoes the correction).
      const n = size.unrounded;
      const d = 0.15;
      const effective = continuityCorrection ? (n - 1 / d) ** 2 / n : n;
      const uncorrected = sampleSizeTwoProportions(0.6, 0.75, { power: 0.85, alpha: 0.01 }).unrounded;
      expect(effective).toBeCloseTo(uncorrected, 8);
    }
  });

  it('rejects bad input', () => {
    expect(() => sampleSizeTwoProportions(0.3, 0.3)).toThrow(/must differ/);
    expect(() => sampleSizeTwoProportions(0.3, 1.3)).toThrow(/p2 must lie in \[0, 1\]/);
    expect(() => sampleSizeTwoProportions(0.3, 0.4, { power: 1 })).toThrow(/power must lie strictly between/);
    expect(() => sampleSizeTwoProportions(0.3, 0.4, { alpha: 0 })).toThrow(/alpha must lie strictly between/);
    expect(() => powerTwoProportions(0.3, 0.4, 0)).toThrow(/nPerGroup must be a positive integer, got 0/);
  });
});

describe('sample size and power for McNemar (Connor 1987)', () => {
  it('follows the closed form of Connor (1987)', () => {
    // Connor (1987), Biometrics 43:207-211: n = [z_{.975} sqrt(psi) + z_{.80} sqrt(psi - delta^2)]^2
    // / delta^2 with psi = .20 and delta = .10: (1.959964 x .447214 + .841621 x .435890)^2 / .01
    // = 154.6 pairs (arithmetic by hand; also in Python).
    const size = sampleSizeMcNemar(0.15, 0.05);
    expect(size.unrounded).toBeCloseTo(154.6, 1);
    expect(size).toMatchObject({ n: 155, method: 'connor' });
    expect(sampleSizeMcNemar(0.05, 0.15).n).toBe(155);
  });

  it('inverts its own sample size', () => {
    const size = sampleSizeMcNemar(0.2, 0.1, { power: 0.9 });
    expect(powerMcNemar(0.2, 0.1, size.n)).toBeGreaterThanOrEqual(0.9);
    expect(powerMcNemar(0.2, 0.1, size.n - 1)).toBeLessThan(0.9);
    // More discordance at the same difference needs more pairs.
    expect(sampleSizeMcNemar(0.3, 0.2, { power: 0.9 }).n).toBeGreaterThan(size.n);
  });

  it('rejects bad input', () => {
    expect(() => sampleSizeMcNemar(0.1, 0.1)).toThrow(/must differ/);
    expect(() => sampleSizeMcNemar(0.7, 0.5)).toThrow(/cannot exceed 1/);
    expect(() => powerMcNemar(0.2, 0.1, 0)).toThrow(/nPairs must be a positive integer/);
  });
});

describe('DerSimonian-Laird random-effects meta-analysis', () => {
  // BCG vaccine trials (Colditz et al. 1994), 13 trials: vaccinated TB+/TB-, control TB+/TB-
  // (metafor's dat.bcg). Log relative risks and variances as metafor escalc(measure = "RR").
  const bcg = [
    [4, 119, 11, 128],
    [6, 300, 29, 274],
    [3, 228, 11, 209],
    [62, 13536, 248, 12619],
    [33, 5036, 47, 5761],
    [180, 1361, 372, 1079],
    [8, 2537, 10, 619],
    [505, 87886, 499, 87892],
    [29, 7470, 45, 7232],
    [17, 1699, 65, 1600],
    [186, 50448, 141, 27197],
    [5, 2493, 3, 2338],
    [27, 16886, 29, 17825],
  ];
  const effects = bcg.map(([a, b, c, d]) => Math.log(a / (a + b) / (c / (c + d))));
  const variances = bcg.map(([a, b, c, d]) => 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d));

  it('matches metafor on the BCG vaccine trials', () => {
    // Viechtbauer (2010), "Conducting meta-analyses in R with the metafor package", J Stat Softw
    // 36(3), and the metafor documentation: rma(yi, vi, data = dat.bcg, method = "DL") gives
    // estimate -0.7141 (SE 0.1787, 95% CI -1.0644 to -0.3638, p < .0001), tau^2 0.3088,
    // I^2 92.12%, Q(df = 12) = 152.2330, p < .0001. (The -0.7145 / 0.3132 / 92.22% often quoted
    // are metafor's default REML fit, not DerSimonian-Laird.) Confirmed with a Python transcription.
    const result = derSimonianLaird(effects, variances);
    expect(result.estimate).toBeCloseTo(-0.7141, 4);
    expect(result.standardError).toBeCloseTo(0.1787, 4);
    expect(result.lower).toBeCloseTo(-1.0644, 4);
    expect(result.upper).toBeCloseTo(-0.3638, 4);
    expect(result.tau2).toBeCloseTo(0.3088, 4);
    expect(result.i2 * 100).toBeCloseTo(92.12, 2);
    expect(result.q).toBeCloseTo(152.233, 3);
    expect(result.qDf).toBe(12);
    expect(result.qPValue).toBeLessThan(0.0001);
    expect(result.pValue).toBeLessThan(0.0001);
    expect(result).toMatchObject({ k: 13, level: 0.95, method: 'dersimonian-laird' });
  });

  it('reduces to the fixed-effect estimate without heterogeneity', () => {
    // Identical effects: Q = 0, tau^2 = 0, I^2 = 0, and the pooled SE is 1 / sqrt(sum 1/v).
    const result = derSimonianLaird([0.3, 0.3, 0.3], [0.01, 0.02, 0.04]);
    expect(result).toMatchObject({ q: 0, tau2: 0, i2: 0, qPValue: 1 });
    expect(result.estimate).toBeCloseTo(0.3, 12);
    expect(result.standardError).toBeCloseTo(1 / Math.sqrt(100 + 50 + 25), 12);
    expect(result.fixedEstimate).toBeCloseTo(0.3, 12);
  });

  it('rejects bad input', () => {
    expect(() => derSimonianLaird([0.1], [0.01])).toThrow(/at least 2 effects, got 1/);
    expect(() => derSimonianLaird([0.1, 0.2], [0.01])).toThrow(/same length/);
    expect(() => derSimonianLaird([0.1, 0.2], [0.01, 0])).toThrow(/variances\[1\] must be a finite positive/);
    expect(() => derSimonianLaird([0.1, Number.NaN], [0.01, 0.01])).toThrow(/effects\[1\] must be a finite/);
    expect(() => derSimonianLaird([0.1, 0.2], [0.01, 0.01], 1)).toThrow(/level must lie strictly between/);
  });
});

describe('variance of a paired difference of proportions (what tempest meta weighs runs by)', () => {
  it("matches Agresti's presidential-approval example: difference 0.04, SE 0.0095", () => {
    // Agresti (2013), Categorical Data Analysis 3rd ed., sec. 11.1: 1600 people, 944 approve at
    // the first survey and 880 at the second; 150 switch to disapprove and 86 to approve. The
    // book's standard error of the difference is 0.0095. Our half pseudo-count moves it by < 1e-4.
    const variance = pairedDifferenceVariance(150, 86, 1600);
    expect(Math.abs(Math.sqrt(variance) - 0.0095)).toBeLessThan(1e-4);
    expect(pairedDifferenceVariance(0, 0, 1000)).toBeGreaterThan(0);
  });
});
