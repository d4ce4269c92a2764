import { describe, expect, it } from 'vitest';
import {
  antialiasedDisk,
  bilinearAt,
  borderIndex,
  clippedZoom,
  filter2d,
  gaussianFilter,
  gaussianKernelCv,
  motionBlur,
  plasmaFractal,
  roundHalfEven,
  zoomBilinear,
} from '../core/perturb/image/filters';
import { deriveKey, sampleStream } from '../core/rng/keyed';

// Reference values below were computed with SciPy 1.18 / scikit-image 0.26 / OpenCV 5.0 (the
// libraries imagecorruptions calls) on the same inputs, by a one-off script, not by this code.
const H = 6;
const W = 5;
const image = Float64Array.from(
  { length: H * W },
  (_, i) => ((Math.floor(i / W) * 7 + (i % W) * 3) % 11) / 10,
);
const big = Float64Array.from(
  { length: 28 * 28 },
  (_, i) => ((Math.floor(i / 28) * 13 + (i % 28) * 5) % 17) / 16,
);

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-9) {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, index) => expect(Math.abs(actual[index] - value)).toBeLessThan(tolerance));
}

describe('image filters follow the libraries the reference calls', () => {
  it('maps border indices like scipy and OpenCV', () => {
    expect([-3, -2, -1, 4, 5, 6].map((i) => borderIndex(i, 4, 'reflect'))).toEqual([2, 1, 0, 3, 2, 1]);
    expect([-3, -2, -1, 4, 5, 6].map((i) => borderIndex(i, 4, 'reflect101'))).toEqual([3, 2, 1, 2, 1, 0]);
    expect([-3, 9].map((i) => borderIndex(i, 4, 'nearest'))).toEqual([0, 3]);
  });

  it('gaussianFilter = skimage.filters.gaussian (mode nearest, truncate 4)', () => {
    const out = new Float64Array(H * W);
    gaussianFilter(image, H, W, 1.5, out);
    expectClose(
      out.slice(0, 6),
      [0.331250643203, 0.41655707087, 0.477630556598, 0.472969852757, 0.410703663767, 0.444313077535],
    );
    expectClose(
      out.slice(24),
      [0.384447155908, 0.43670395983, 0.455489923732, 0.435715978852, 0.389673881158, 0.357063196629],
    );
  });

  it('gaussianFilter = scipy gaussian_filter(mode reflect, truncate 3), also for kernels wider than the image', () => {
    const out = new Float64Array(H * W);
    gaussianFilter(image, H, W, 0.8, out, { mode: 'reflect', truncate: 3 });
    expectClose(out.slice(15, 20), [0.657223483074, 0.544529925319, 0.5, 0.455470074681, 0.342776516926]);
    const wide = new Float64Array(28 * 28);
    gaussianFilter(big, 28, 28, 6, wide, { mode: 'reflect' });
    expectClose([wide[0], wide[27 * 28 + 3]], [0.498588209385, 0.507317846225]);
    gaussianFilter(big, 28, 28, 6, wide);
    expectClose([wide[0], wide[13 * 28 + 20]], [0.3691128945, 0.501529137284]);
  });

  it('filter2d = cv2.filter2D (correlation, BORDER_REFLECT_101)', () => {
    const out = new Float64Array(H * W);
    filter2d(image, H, W, [0, 1, 2, 1, 3, 1, 0, 0, 1], 3, 3, out);
    expectClose(out.slice(0, 10), [4.3, 3.1, 4.7, 6.3, 4.4, 5.3, 6.3, 4.6, 4.0, 5.4]);
  });

  it('gaussianKernelCv = cv2.getGaussianKernel', () => {
    expectClose(
      gaussianKernelCv(5, 0.5),
      [
        0.00026386508273735414, 0.10645077197359151, 0.7865707258873422, 0.10645077197359151,
        0.00026386508273735414,
      ],
      1e-15,
    );
  });

  it('zoomBilinear = scipy.ndimage.zoom(order=1)', () => {
    const out = new Float64Array(8 * 8);
    // scipy sizes the output with Python's round: 5 x 1.7 = 8.5 rounds to 8.
    expect([roundHalfEven(H * 1.3), roundHalfEven(W * 1.7), roundHalfEven(2.5), roundHalfEven(3.5)]).toEqual([
      8, 8, 2, 4,
    ]);
    zoomBilinear(image, H, W, 8, 8, out);
    expectClose(
      out.slice(8, 16),
      [0.5, 0.671428571429, 0.730612244898, 0.45306122449, 0.4, 0.571428571429, 0.608163265306, 0.6],
    );
  });

  it('bilinearAt = scipy.ndimage.map_coordinates(order=1, mode reflect)', () => {
    const points = [
      [-0.5, 1.2],
      [2.3, -1.4],
      [5.7, 4.9],
      [0.0, 4.0],
    ];
    expectClose(
      points.map(([y, x]) => bilinearAt(image, H, W, y, x, 'reflect')),
      [0.36, 0.498, 0.3, 0.1],
    );
  });

  it('antialiasedDisk = the reference disk(3, 0.1), and filters like cv2.filter2D with it', () => {
    const { kernel, size } = antialiasedDisk(3, 0.1);
    expect(size).toBe(17);
    expect(kernel.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // the reference builds the disk in float32, hence the looser tolerance
    expectClose(
      [kernel[8 * 17 + 8], kernel[8 * 17 + 5], kernel[8 * 17 + 4]],
      [0.034482758492, 0.034482758492, 0],
      1e-8,
    );
    const out = new Float64Array(28 * 28);
    filter2d(big, 28, 28, kernel, size, size, out);
    expectClose(
      [out[0], out[27 * 28 + 27], out[10 * 28 + 3]],
      [0.443965515587, 0.474137929268, 0.489224136109],
      1e-7,
    );
  });

  it('clippedZoom by 1 is the identity and keeps a zoomed centre otherwise', () => {
    const same = new Float64Array(H * W);
    clippedZoom(image, H, W, 1, same);
    expectClose(same, [...image]);
    const zoomed = new Float64Array(28 * 28);
    clippedZoom(big, 28, 28, 2, zoomed);
    // Factor 2 crops the central 14x14 (rows 7..20) and doubles it: the corner is the crop's corner.
    expect(zoomed[0]).toBeCloseTo(big[7 * 28 + 7], 12);
  });

  it('motionBlur averages shifted copies with replicated edges and keeps constants constant', () => {
    const constant = new Float64Array(10 * 12).fill(0.25);
    const out = new Float64Array(10 * 12);
    motionBlur(constant, 10, 12, 4, 2, 30, out);
    expectClose(
      out,
      Array.from({ length: 120 }, () => 0.25),
      1e-12,
    );
    // At angle 0 the reference's shifts are dx = 0, -1, -2 (each pixel averages itself and the two
    // to its right), so a vertical edge at x = 4 spreads two pixels to the left.
    const edge = Float64Array.from({ length: 5 * 9 }, (_, i) => (i % 9 >= 4 ? 1 : 0));
    const blurred = new Float64Array(5 * 9);
    motionBlur(edge, 5, 9, 1, 1, 0, blurred);
    expect(blurred[1]).toBe(0);
    expect(blurred[2]).toBeGreaterThan(0);
    expect(blurred[3]).toBeGreaterThan(blurred[2]);
    expect(blurred[4]).toBeCloseTo(1, 12);
  });

  it('plasmaFractal is a [0, 1] height map determined by its stream', () => {
    const make = (seed: number) => plasmaFractal(32, 2, sampleStream(deriveKey({ plasma: seed }), 0));
    const map = make(1);
    expect(Math.min(...map)).toBe(0);
    expect(Math.max(...map)).toBe(1);
    expect([...make(1)]).toEqual([...map]);
    expect([...make(2)]).not.toEqual([...map]);
  });
});
