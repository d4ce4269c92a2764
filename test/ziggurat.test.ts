import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../core/hash';
import { PhiloxStream } from '../core/rng/philox';
import { fillStandardNormals, ZIGGURAT_TABLES, zigguratNormal } from '../core/rng/ziggurat';

const standardNormals = (stream: PhiloxStream, count: number) =>
  fillStandardNormals(stream, new Float64Array(count));

const density = (x: number) => Math.exp(-0.5 * x * x);

describe('ziggurat tables', () => {
  it('cut the density into 128 layers of equal area, the base carrying the tail', () => {
    const { edges, heights, area, tailStart } = ZIGGURAT_TABLES;
    expect(edges[1]).toBe(tailStart);
    for (let i = 1; i < 128; i++) {
      // Layer i: [0, x_i) x [f(x_i), f(x_{i+1})), the top layer up to the peak f(0) = 1.
      const top = i < 127 ? density(edges[i + 1]) : 1;
      expect((edges[i] * (top - density(edges[i]))) / area).toBeCloseTo(1, 7);
      expect(heights[i]).toBe(density(edges[i]));
      if (i < 127) expect(edges[i + 1]).toBeLessThan(edges[i]);
    }
    // Base: the rectangle [0, R) x [0, f(R)) plus the tail beyond R, integral sqrt(2 pi) (1 - Phi(R)).
    const tailArea = Math.sqrt(2 * Math.PI) * (1 - normalCdf(tailStart, 0, 1));
    expect((tailStart * density(tailStart) + tailArea) / area).toBeCloseTo(1, 7);
    expect(edges[0] * density(tailStart)).toBeCloseTo(area, 12);
  });
});

describe('ziggurat normals', () => {
  const count = 1_000_000;
  const draws = standardNormals(new PhiloxStream([101, 202], [303, 404]), count);

  it('follow the standard normal: Kolmogorov-Smirnov distance below the 0.1% critical value', () => {
    const sorted = Float64Array.from(draws).sort();
    let distance = 0;
    for (let i = 0; i < count; i++) {
      const cdf = normalCdf(sorted[i], 0, 1);
      distance = Math.max(distance, Math.abs(cdf - i / count), Math.abs((i + 1) / count - cdf));
    }
    expect(distance).toBeLessThan(1.949 / Math.sqrt(count));
  });

  it('have the normal mean, variance, symmetry and tails (wedges and the tail beyond R included)', () => {
    let sum = 0;
    let squares = 0;
    let negative = 0;
    let beyondR = 0;
    let beyond4 = 0;
    let lagProduct = 0;
    for (let i = 0; i < count; i++) {
      const z = draws[i];
      sum += z;
      squares += z * z;
      if (z < 0) negative++;
      if (Math.abs(z) > ZIGGURAT_TABLES.tailStart) beyondR++;
      if (Math.abs(z) > 4) beyond4++;
      if (i > 0) lagProduct += z * draws[i - 1];
    }
    // Five standard errors each: mean 1/sqrt(n), variance sqrt(2/n), a proportion sqrt(p(1-p)/n).
    const within = (observed: number, expected: number, standardError: number) =>
      expect(Math.abs(observed - expected)).toBeLessThan(5 * standardError);
    within(sum / count, 0, 1 / Math.sqrt(count));
    within(squares / count, 1, Math.sqrt(2 / count));
    within(negative / count, 0.5, Math.sqrt(0.25 / count));
    within(lagProduct / (count - 1), 0, 1 / Math.sqrt(count));
    const pR = 2 * (1 - normalCdf(ZIGGURAT_TABLES.tailStart, 0, 1));
    within(beyondR / count, pR, Math.sqrt((pR * (1 - pR)) / count));
    const p4 = 2 * (1 - normalCdf(4, 0, 1));
    within(beyond4 / count, p4, Math.sqrt((p4 * (1 - p4)) / count));
  });

  it('fill 100 equiprobable bins evenly (chi-square below the 0.1% critical value, 99 df)', () => {
    const bins = new Float64Array(100);
    for (let i = 0; i < count; i++) bins[Math.min(99, Math.floor(normalCdf(draws[i], 0, 1) * 100))]++;
    const expected = count / 100;
    const chiSquare = bins.reduce((total, observed) => total + (observed - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(148.2);
  });

  it('come from the stream alone: one word per draw, rejected draws continue the stream after the bulk words', () => {
    const a = new PhiloxStream([5, 6], [7, 8]);
    const b = new PhiloxStream([5, 6], [7, 8]);
    const bulk = standardNormals(a, 5000);
    const words = b.fillUint32(new Uint32Array(5000));
    expect(Array.from(words, (word) => zigguratNormal(word, b))).toEqual([...bulk]);
    // Both streams consumed the same extra words, so they continue identically.
    expect(a.nextUint32()).toBe(b.nextUint32());
    // A pinned digest of the first draws: a change here changes every gaussian/speckle output.
    const first = standardNormals(new PhiloxStream([1, 2], [3, 4]), 4096);
    expect(sha256Hex(new Uint8Array(first.buffer))).toMatchInlineSnapshot(
      `"6e79f3a69086766e438397453b9e961679c8f7ef4f654c3b640c3ef40477e360"`,
    );
  });
});
