import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { describe, expect, it } from 'vitest';
import {
  QUANTILE_RELATIVE_BOUND,
  float32PlusScaledNormalQuantile,
  standardNormalQuantileAs241,
} from '../core/rng/normal-float32';
import { PhiloxStream } from '../core/rng/philox';

const slow = (a: number, b: number, p: number, sigma: number): number =>
  Math.fround(a + b * normalQuantile(p, 0, sigma));

/** The noise modules' sigmas (ImageNet-C gaussian and speckle severities) and a few others. */
const SIGMAS = [0.08, 0.12, 0.18, 0.26, 0.38, 0.15, 0.2, 0.35, 0.45, 0.6, 1, 3.7];

describe('AS 241 normal quantile', () => {
  it('stays far inside the bound the float32 bracket assumes, centre and both tails', () => {
    let worst = 0;
    const measure = (p: number, sigma: number): void => {
      const reference = normalQuantile(p, 0, sigma);
      const fast = sigma * standardNormalQuantileAs241(0.5 * (2 * p - 1));
      if (reference === 0) {
        expect(fast).toBe(0);
        return;
      }
      worst = Math.max(worst, Math.abs(fast - reference) / Math.abs(reference));
    };
    const grid = 200_000;
    for (let i = 1; i < grid; i++) for (const sigma of SIGMAS) measure(i / grid, sigma);
    // Tails: p from 2^-54 (the smallest open uniform) upwards, and 1 - p where it is below 1.
    for (let exponent = -54; exponent < -1; exponent += 0.01) {
      measure(2 ** exponent, 1);
      if (1 - 2 ** exponent < 1) measure(1 - 2 ** exponent, 1);
    }
    const stream = new PhiloxStream([11, 12], [13, 14]);
    for (let i = 0; i < 200_000; i++) measure(stream.uniformOpen(), 0.26);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(QUANTILE_RELATIVE_BOUND / 100);
  });
});

describe('float32 sums of scaled normal quantiles', () => {
  it('equal fround(a + b * stdlib quantile) on random inputs, and mostly skip stdlib', () => {
    const stream = new PhiloxStream([1, 2], [3, 4]);
    let mismatches = 0;
    let fallbacks = 0;
    const count = 300_000;
    for (let i = 0; i < count; i++) {
      const a = Math.fround(stream.uniform());
      const b = i % 2 === 0 ? 1 : a; // gaussian_noise adds, speckle_noise multiplies by the pixel
      const p = stream.uniformOpen();
      const sigma = SIGMAS[i % SIGMAS.length];
      const expected = slow(a, b, p, sigma);
      if (!Object.is(float32PlusScaledNormalQuantile(a, b, p, sigma), expected)) mismatches++;
      // A fallback is any input whose bracket straddles a float32 boundary: count them with the
      // same bracket, to show the fast path is the common one.
      const value = sigma * standardNormalQuantileAs241(0.5 * (2 * p - 1));
      const margin = Math.abs(value) * QUANTILE_RELATIVE_BOUND;
      if (Math.fround(a + b * (value - margin)) !== Math.fround(a + b * (value + margin))) fallbacks++;
    }
    expect(mismatches).toBe(0);
    expect(fallbacks / count).toBeLessThan(0.01);
  });

  it('equal it where a + b * quantile sits next to a float32 rounding boundary', () => {
    // For a float32 a, aim the quantile at the midpoint between two neighbouring float32 values
    // (where rounding flips), then walk p over the nearest doubles: these inputs take the
    // fallback and the bracket's edges, the cases an approximation would get wrong.
    const stream = new PhiloxStream([5, 6], [7, 8]);
    let checked = 0;
    let mismatches = 0;
    for (let trial = 0; trial < 2_000; trial++) {
      const a = Math.fround(0.05 + 0.9 * stream.uniform());
      const sigma = SIGMAS[trial % SIGMAS.length];
      const b = trial % 2 === 0 ? 1 : a;
      const step = 2 ** (Math.floor(Math.log2(a)) - 23);
      const offset = Math.round((stream.uniform() - 0.5) * 2000);
      const midpoint = a + (offset + 0.5) * step;
      const p0 = normalCdf((midpoint - a) / b, 0, sigma);
      if (!(p0 > 0 && p0 < 1)) continue;
      for (let k = -40; k <= 40; k++) {
        const p = p0 + k * Number.EPSILON * Math.max(p0, 1e-300);
        if (!(p > 0 && p < 1)) continue;
        checked++;
        if (!Object.is(float32PlusScaledNormalQuantile(a, b, p, sigma), slow(a, b, p, sigma))) mismatches++;
      }
    }
    expect(checked).toBeGreaterThan(100_000);
    expect(mismatches).toBe(0);
  });

  it('keeps the sign of zero, the extreme uniforms and p = 1/2 as stdlib does', () => {
    const extremes = [2 ** -54, 1.5 * 2 ** -53, 0.5, 1 - 2 ** -54, 0.075, 0.925, 0.0750000000000001];
    for (const p of extremes) {
      for (const [a, b] of [
        [0, 1],
        [0, 0],
        [-0, 1],
        [0.5, 0.5],
        [1, 1],
      ]) {
        for (const sigma of [0.08, 0.6]) {
          expect(Object.is(float32PlusScaledNormalQuantile(a, b, p, sigma), slow(a, b, p, sigma))).toBe(true);
        }
      }
    }
  });
});
