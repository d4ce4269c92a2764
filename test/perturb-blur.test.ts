import { describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { sha256Hex } from '../core/hash';
import { BLUR_AND_GEOMETRIC_MODULES } from '../core/perturb/image/blur-geometric';
import { defocusBlur } from '../core/perturb/image/defocus-blur';
import { elasticTransform } from '../core/perturb/image/elastic-transform';
import { antialiasedDisk, filter2d } from '../core/perturb/image/filters';
import { gaussianBlur } from '../core/perturb/image/gaussian-blur';
import { glassBlur } from '../core/perturb/image/glass-blur';
import { motionBlur } from '../core/perturb/image/motion-blur';
import { zoomBlur } from '../core/perturb/image/zoom-blur';
import type { PerturbationModule } from '../core/perturb/module';
import { sliceSamples, type Tensor } from '../core/tensor/tensor';
import { applyAtSeverity, bytesOf, imageContext, meanAbsoluteChange, syntheticRgb } from './helpers/perturb';

const digits = loadMnist('test', 16).inputs;
const rgb = syntheticRgb(4, 40, 48);
const SEVERITIES = [1, 2, 3, 4, 5];

const perturb = (module: PerturbationModule, input: Tensor, severity: number, seed = 1, first = 0): Tensor =>
  applyAtSeverity(module, input, severity, imageContext(seed, first));
const hashOf = (tensor: Tensor): string => sha256Hex(bytesOf(tensor));
const distances = (module: PerturbationModule, input: Tensor, seed = 1): number[] =>
  SEVERITIES.map((severity) => meanAbsoluteChange(perturb(module, input, severity, seed), input));

function imageOf(
  height: number,
  width: number,
  value: (y: number, x: number, channel: number) => number,
  channels = 1,
) {
  const data = new Float32Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data[(c * height + y) * width + x] = value(y, x, c);
  }
  return { dims: [1, channels, height, width], data };
}

const constantRgb = (height: number, width: number, value: number) => imageOf(height, width, () => value, 3);

/** [N, 1, H, W] -> [N, 3, H, W] with three identical channels, as the reference's corrupt() stacks gray images. */
function stackGray(gray: Tensor): Tensor {
  const [n, , height, width] = gray.dims;
  const pixels = height * width;
  const data = new Float32Array(n * 3 * pixels);
  for (let s = 0; s < n; s++) {
    const plane = gray.data.subarray(s * pixels, (s + 1) * pixels);
    for (let c = 0; c < 3; c++) data.set(plane, (s * 3 + c) * pixels);
  }
  return { dims: [n, 3, height, width], data };
}

function expectAllClose(actual: ArrayLike<number>, expected: number, tolerance: number): void {
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected)).toBeLessThan(tolerance);
}

describe.each(BLUR_AND_GEOMETRIC_MODULES.map((module) => [module.name, module] as const))(
  '%s',
  (_name, module) => {
    it('is an image module at its version (1.0.0; defocus_blur 1.1.0) whose published parameters pass its strict schema', () => {
      // defocus_blur 1.1.0 filters by FFT (same values to one float32 unit, not the same bits).
      expect(module.version).toBe(module.name === 'defocus_blur' ? '1.1.0' : '1.0.0');
      expect(module.inputKind).toBe('image');
      for (const severity of SEVERITIES) {
        const params = module.severityParams!(severity);
        expect(module.params.parse(params)).toEqual(params);
        expect(module.params.safeParse({ ...params, extra: 1 }).success).toBe(false);
      }
    });

    it('keeps shape and dtype and stays in [0, 1] on digits and RGB at every severity', () => {
      for (const input of [digits, rgb]) {
        for (const severity of SEVERITIES) {
          const output = perturb(module, input, severity);
          expect(output.dims).toEqual(input.dims);
          expect(output.data).toBeInstanceOf(Float32Array);
          expect(output.data.every((value) => value >= 0 && value <= 1)).toBe(true);
        }
      }
    });

    it('gives every channel of a gray image stacked into RGB the gray result, as the reference sees gray', () => {
      const gray = perturb(module, digits, 4, 9);
      const stacked = perturb(module, stackGray(digits), 4, 9);
      expect(hashOf(stacked)).toBe(hashOf(stackGray(gray)));
    });

    it('works on images far below the reference 32x32 minimum', () => {
      for (const [height, width] of [
        [1, 1],
        [2, 3],
        [3, 5],
      ]) {
        const tiny = imageOf(height, width, (y, x, c) => ((y * 5 + x * 3 + c) % 7) / 6, 3);
        for (const severity of SEVERITIES) {
          const output = perturb(module, tiny, severity);
          expect(output.data.every((value) => value >= 0 && value <= 1)).toBe(true);
        }
      }
    });

    if (module.stochastic) {
      it('gives identical bytes for the same seed, other bytes for another, and does not depend on batching', () => {
        expect(hashOf(perturb(module, digits, 3, 1))).toBe(hashOf(perturb(module, digits, 3, 1)));
        expect(hashOf(perturb(module, digits, 3, 1))).not.toBe(hashOf(perturb(module, digits, 3, 2)));
        expect(hashOf(perturb(module, rgb, 3, 1))).not.toBe(hashOf(perturb(module, rgb, 3, 2)));
        const whole = perturb(module, digits, 2, 7);
        const first = perturb(module, sliceSamples(digits, 0, 5), 2, 7, 0);
        const rest = perturb(module, sliceSamples(digits, 5, 16), 2, 7, 5);
        expect([...first.data, ...rest.data]).toEqual([...whole.data]);
      });
    } else {
      it('draws nothing: the seed does not change the output', () => {
        expect(hashOf(perturb(module, digits, 3, 1))).toBe(hashOf(perturb(module, digits, 3, 2)));
        expect(hashOf(perturb(module, rgb, 3, 1))).toBe(hashOf(perturb(module, rgb, 3, 2)));
      });
    }
  },
);

describe('severity ordering on real digits and RGB images', () => {
  const strictlyIncreasing = (values: number[]) => values.slice(1).every((value, i) => value > values[i]);

  it('gaussian_blur, defocus_blur, zoom_blur and elastic_transform move further at every severity', () => {
    for (const module of [gaussianBlur, defocusBlur, zoomBlur, elasticTransform]) {
      for (const input of [digits, rgb])
        expect(strictlyIncreasing(distances(module, input)), module.name).toBe(true);
    }
  });

  it('motion_blur: strictly on RGB; on 28x28 digits it saturates at severity 5', () => {
    expect(strictlyIncreasing(distances(motionBlur, rgb))).toBe(true);
    // At 28 px the 41-step streak of severity 5 is cut at the image border (the reference's loop
    // stops there and drops those steps' weight), so it changes digits about as much as severity
    // 4's 31 steps: measured 0.1532 at severity 4 and 0.1529 at 5 (seed 1).
    const onDigits = distances(motionBlur, digits);
    expect(strictlyIncreasing(onDigits.slice(0, 4))).toBe(true);
    expect(Math.abs(onDigits[4] - onDigits[3])).toBeLessThan(0.01);
  });

  it('glass_blur follows its published table, which is not monotone in pixel change', () => {
    // (sigma, delta, iterations) = (.7,1,2) (.9,2,1) (1,2,3) (1.1,3,2) (1.5,4,2): severity 3's three
    // passes move pixels more than severity 4's two wider ones (measured 0.150 vs 0.140 on digits,
    // 0.109 vs 0.097 on RGB), and severity 2's single pass about as much as severity 1's two.
    // What holds: three passes beat 1, 2 and 4, and 5 beats 4.
    for (const input of [digits, rgb]) {
      const [d1, d2, d3, d4, d5] = distances(glassBlur, input);
      expect(d3).toBeGreaterThan(Math.max(d1, d2, d4));
      expect(d5).toBeGreaterThan(d4);
    }
  });
});

describe('gaussian_blur', () => {
  it('equals skimage.filters.gaussian (mode nearest, truncate 4) on a fixed image', () => {
    // /tmp/icvenv/bin/python: y, x = np.mgrid[0:7, 0:9];
    // img = (((y * 7 + x * 3) % 11) / 10).astype(np.float32).astype(np.float64);
    // skimage.filters.gaussian(img, sigma=2) and (img, sigma=6) (skimage 0.26, scipy 1.17)
    const image = imageOf(7, 9, (y, x) => ((y * 7 + x * 3) % 11) / 10);
    const sigma2 = perturb(gaussianBlur, image, 2).data;
    const expected2 = [0.35386414839759905, 0.40883464458781005, 0.45382610814149416, 0.4806013956779218];
    expected2.forEach((value, x) => expect(Math.abs(sigma2[x] - value)).toBeLessThan(1e-7));
    expect(Math.abs(sigma2[3 * 9 + 4] - 0.5003176297844173)).toBeLessThan(1e-7);
    expect(Math.abs(sigma2[6 * 9 + 8] - 0.34623778336634714)).toBeLessThan(1e-7);
    const sigma6 = perturb(gaussianBlur, image, 5).data;
    expect(Math.abs(sigma6[0] - 0.39171436000480986)).toBeLessThan(1e-7);
    expect(Math.abs(sigma6[3 * 9 + 4] - 0.43899153377096156)).toBeLessThan(1e-7);
  });

  it('keeps a constant image constant', () => {
    expectAllClose(perturb(gaussianBlur, constantRgb(20, 30, 0.3), 5).data, 0.3, 1e-7);
  });
});

describe('glass_blur', () => {
  it('quantizes the first blur by truncation to 8 bits, as the reference does', () => {
    // A constant 0.5 blurs to 0.5, i.e. level 127.5, truncated to 127: the output is 127 / 255.
    expectAllClose(perturb(glassBlur, constantRgb(24, 24, 0.5), 3).data, 127 / 255, 1e-7);
  });

  it('copies each pixel from a random neighbour in the reference order, the same for all channels', () => {
    // With sigma 0.01 both blurs are the identity (kernel radius 0), leaving quantization and the
    // shuffle. Every pixel carries an id k per channel (k, 255 - k, 7k mod 256) at level k + 0.5,
    // which truncates to k. The expected ids replay the image's stream in the documented order.
    const side = 16;
    const delta = 2;
    const iterations = 3;
    const idsOf = (k: number, c: number) => [k, 255 - k, (7 * k) % 256][c];
    const image = imageOf(side, side, (y, x, c) => (idsOf(y * side + x, c) + 0.5) / 255, 3);
    const output = glassBlur.apply(image, { sigma: 0.01, maxDelta: delta, iterations }, imageContext(4));

    const source = Array.from({ length: side * side }, (_, k) => k);
    const stream = imageContext(4).streamFor(0);
    const offset = () => Math.floor(stream.uniform() * 2 * delta) - delta;
    for (let pass = 0; pass < iterations; pass++) {
      for (let y = side - delta; y > delta; y--) {
        for (let x = side - delta; x > delta; x--) {
          const dx = offset();
          const dy = offset();
          source[y * side + x] = source[(y + dy) * side + x + dx];
        }
      }
    }
    for (let c = 0; c < 3; c++) {
      const ids = Array.from(output.data.subarray(c * side * side, (c + 1) * side * side), (v) =>
        Math.round(v * 255),
      );
      expect(ids).toEqual(source.map((k) => idsOf(k, c)));
    }
    // Copies, not swaps: some pixel values now occur twice (a swap would keep a permutation), and the
    // top and left delta + 1 rows and columns and the bottom and right delta - 1 are never written.
    expect(new Set(source).size).toBeLessThan(side * side);
    source.forEach((k, index) => {
      const [y, x] = [Math.floor(index / side), index % side];
      if (y <= delta || x <= delta || y > side - delta || x > side - delta) expect(k).toBe(index);
    });
  });
});

describe('defocus_blur', () => {
  it('spreads a point over the radius-3 disk of 29 pixels at severity 1', () => {
    // disk(3, 0.1): the 29 grid points with x^2 + y^2 <= 9 get 1/29 each; the alias blur of sigma
    // 0.1 moves only e^-50 of the weight to their neighbours.
    const point = imageOf(40, 40, (y, x) => (y === 20 && x === 20 ? 1 : 0));
    const output = perturb(defocusBlur, point, 1).data;
    let total = 0;
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 40; x++) {
        const value = output[y * 40 + x];
        total += value;
        const inside = (y - 20) ** 2 + (x - 20) ** 2 <= 9;
        if (inside) expect(Math.abs(value - 1 / 29)).toBeLessThan(1e-8);
        // Outside: the direct sum left e^-50-scale weights; the FFT leaves float64 rounding noise.
        else expect(value).toBeLessThan(1e-12);
      }
    }
    expect(total).toBeCloseTo(1, 6);
  });

  it('agrees with the direct sum of the untrimmed kernel (filter2d) to one float32 unit at every severity', () => {
    // Version 1.1.0 correlates by FFT; 1.0.0 was this direct sum, bit for bit.
    const image = rgb.data.subarray(0, 3 * 40 * 48);
    for (const severity of SEVERITIES) {
      const { radius, aliasBlur } = defocusBlur.severityParams!(severity);
      const { kernel, size } = antialiasedDisk(radius, aliasBlur);
      const expected = new Float32Array(image.length);
      for (let plane = 0; plane < image.length; plane += 40 * 48) {
        const target = expected.subarray(plane, plane + 40 * 48);
        filter2d(image.subarray(plane, plane + 40 * 48), 40, 48, kernel, size, size, target);
      }
      for (let i = 0; i < expected.length; i++) expected[i] = Math.min(1, Math.max(0, expected[i]));
      const output = perturb(defocusBlur, sliceSamples(rgb, 0, 1), severity).data;
      let same = 0;
      for (let i = 0; i < expected.length; i++) {
        expect(Math.abs(output[i] - expected[i])).toBeLessThanOrEqual(
          Math.max(2 ** -24, expected[i] * 2 ** -23),
        );
        if (output[i] === expected[i]) same++;
      }
      expect(same / expected.length).toBeGreaterThan(0.95);
    }
  });

  it('keeps constants up to severity 3 and, like the reference, brightens them by 1.3% and 1.1% at 4 and 5', () => {
    // The reference's disk(8, .5) and disk(10, .5) fill their whole grid, and cv2.GaussianBlur's
    // mirrored border folds weight back in: /tmp/icvenv/bin/python, disk(r, .5).sum() for r = 8, 10.
    const kernelSums = [1, 1, 1, 1.0129754543304443, 1.0107858180999756];
    for (const severity of SEVERITIES) {
      const output = perturb(defocusBlur, constantRgb(30, 30, 0.7), severity).data;
      expectAllClose(output, 0.7 * kernelSums[severity - 1], 1e-6);
    }
  });
});

describe('motion_blur', () => {
  /**
   * The reference's weight kept for a streak at `angle` on an H x W image: Gaussian weights of steps
   * 0..2r normalized over all steps, summed until a step's shift leaves the image, written from its
   * formulas (point = width * (sin, cos), shift = -ceil(i * point / hypot - 0.5)).
   */
  function keptWeight(radius: number, sigma: number, angle: number, height: number, width: number): number {
    const steps = 2 * radius + 1;
    const weights = Array.from({ length: steps }, (_, i) => Math.exp(-(i * i) / (2 * sigma * sigma)));
    const total = weights.reduce((a, b) => a + b, 0);
    const point = [steps * Math.sin((angle * Math.PI) / 180), steps * Math.cos((angle * Math.PI) / 180)];
    const hypot = Math.hypot(point[0], point[1]);
    let kept = 0;
    for (let i = 0; i < steps; i++) {
      const dy = -Math.ceil((i * point[0]) / hypot - 0.5);
      const dx = -Math.ceil((i * point[1]) / hypot - 0.5);
      if (Math.abs(dy) >= height || Math.abs(dx) >= width) break;
      kept += weights[i] / total;
    }
    return kept;
  }
  const angleOf = (seed: number, sampleIndex: number) =>
    -45 + 90 * imageContext(seed).streamFor(sampleIndex).uniform();

  it('keeps constants where the streak fits and, like the reference, darkens by the cut weight where not', () => {
    const fits = perturb(motionBlur, constantRgb(40, 48, 0.6), 5, 3).data;
    expect(keptWeight(20, 15, angleOf(3, 0), 40, 48)).toBeCloseTo(1, 12);
    expectAllClose(fits, 0.6, 1e-6);
    const kepts = [3, 4, 5, 6].map((seed) => {
      const kept = keptWeight(20, 15, angleOf(seed, 0), 28, 28);
      expectAllClose(perturb(motionBlur, constantRgb(28, 28, 0.6), 5, seed).data, 0.6 * kept, 1e-6);
      return kept;
    });
    // Near 0 degrees the 41-step streak loses its steps beyond 27 px; near 45 degrees almost none.
    expect(Math.min(...kepts)).toBeLessThan(0.97);
  });

  it('streaks a point along a line within 45 degrees of horizontal', () => {
    const point = imageOf(61, 61, (y, x) => (y === 30 && x === 30 ? 1 : 0));
    for (const seed of [1, 2, 3, 4]) {
      const output = perturb(motionBlur, point, 2, seed).data;
      let total = 0;
      output.forEach((value, index) => {
        total += value;
        const [dy, dx] = [Math.floor(index / 61) - 30, (index % 61) - 30];
        if (value > 0) expect(Math.abs(dy)).toBeLessThanOrEqual(Math.abs(dx) + 1);
      });
      expect(total).toBeCloseTo(1, 6);
    }
  });
});

describe('zoom_blur', () => {
  it('uses the zoom factors np.arange gives, to the last bit', () => {
    // /tmp/icvenv/bin/python: [float(v) for v in np.arange(1, 1.31, 0.03)] and np.arange(1, 1.16, 0.01)
    expect(zoomBlur.severityParams!(5).zoomFactors).toEqual([
      1.0, 1.03, 1.06, 1.09, 1.12, 1.1500000000000001, 1.1800000000000002, 1.2100000000000002,
      1.2400000000000002, 1.2700000000000002, 1.3000000000000003,
    ]);
    expect(SEVERITIES.map((s) => zoomBlur.severityParams!(s).zoomFactors.length)).toEqual([
      12, 16, 11, 13, 11,
    ]);
    expect(zoomBlur.severityParams!(2).zoomFactors.slice(12)).toEqual([
      1.12, 1.1300000000000001, 1.1400000000000001, 1.1500000000000001,
    ]);
  });

  it('averages the image with its centre zooms, computed by hand on a 4x4 image', () => {
    // Factors 1 and 2: the factor-2 layer crops the centre 2x2 (rows and columns 1..2) and
    // stretches it to 4x4, output pixel o sampling crop coordinate o / 3; the result is
    // (image + image + layer) / 3.
    const v = (y: number, x: number) => (y * 4 + x) / 20;
    const output = zoomBlur.apply(imageOf(4, 4, v), { zoomFactors: [1, 2] }, imageContext(1)).data;
    const centre = (4 / 9) * v(1, 1) + (2 / 9) * v(1, 2) + (2 / 9) * v(2, 1) + (1 / 9) * v(2, 2);
    expect(output[0]).toBeCloseTo((2 * v(0, 0) + v(1, 1)) / 3, 7);
    expect(output[5]).toBeCloseTo((2 * v(1, 1) + centre) / 3, 7);
    expect(output[15]).toBeCloseTo((2 * v(3, 3) + v(2, 2)) / 3, 7);
  });

  it('keeps a constant image constant', () => {
    expectAllClose(perturb(zoomBlur, constantRgb(28, 28, 0.45), 5).data, 0.45, 1e-6);
  });
});

describe('elastic_transform', () => {
  it('resamples at (y + dy, x + dx) from the fields drawn dx first, uniform within 0.005 H, times alpha', () => {
    // On 16x16 the smoothing sigma is 0.16 and its kernel a single tap, so the fields are the raw
    // draws times alpha. On a linear image, bilinear resampling away from the edges is exact.
    const side = 16;
    const ramp = (y: number, x: number) => 0.1 + 0.03 * y + 0.02 * x;
    const output = perturb(elasticTransform, imageOf(side, side, ramp), 1, 6).data;
    const stream = imageContext(6).streamFor(0);
    // alpha 12.5 at severity 1; the uniform bound is 0.005 x 16 = 0.08
    const draw = () =>
      Array.from({ length: side * side }, () => Math.fround((-0.08 + 0.16 * stream.uniform()) * 12.5));
    const dx = draw();
    const dy = draw();
    let moved = 0;
    for (let y = 2; y < side - 2; y++) {
      for (let x = 2; x < side - 2; x++) {
        const i = y * side + x;
        expect(Math.abs(output[i] - ramp(y + dy[i], x + dx[i]))).toBeLessThan(1e-6);
        if (Math.abs(output[i] - ramp(y, x)) > 0.005) moved++;
      }
    }
    expect(moved).toBeGreaterThan(100);
  });

  it('keeps a constant image constant', () => {
    expectAllClose(perturb(elasticTransform, constantRgb(30, 34, 0.55), 5).data, 0.55, 1e-6);
  });
});

describe('pinned output bytes of version 1.0.0 (16 MNIST digits and 4 RGB 40x48 images, severity 3, seed 1)', () => {
  it('gaussian_blur', () => {
    expect(hashOf(perturb(gaussianBlur, digits, 3))).toMatchInlineSnapshot(
      `"379c28d44ce6268aa713496f7c499e7a3565d25ce1117f7e7bb05e67a762e344"`,
    );
    expect(hashOf(perturb(gaussianBlur, rgb, 3))).toMatchInlineSnapshot(
      `"dbf41c28ee0210a250953d5b9300f061d6681e1520806cc9c6671984a74fd29f"`,
    );
  });
  it('glass_blur', () => {
    expect(hashOf(perturb(glassBlur, digits, 3))).toMatchInlineSnapshot(
      `"e0a579e86ba70ffcde4f6b6d0558114b58a34d1450351c115d0e9ab3e6176a85"`,
    );
    expect(hashOf(perturb(glassBlur, rgb, 3))).toMatchInlineSnapshot(
      `"7601bfd6e720817b50550471d3faf46550af2e230885c9c24e473071044af6c6"`,
    );
  });
  it('defocus_blur (version 1.1.0: FFT)', () => {
    expect(hashOf(perturb(defocusBlur, digits, 3))).toMatchInlineSnapshot(
      `"7fac5735cdc7f468eb72ba292922ef75384871f6e29f0b9199db951700f388c3"`,
    );
    expect(hashOf(perturb(defocusBlur, rgb, 3))).toMatchInlineSnapshot(
      `"b103a85a088b655d902206943f1c51b55690587ebd0a14837cdb461a921239bf"`,
    );
  });
  it('motion_blur', () => {
    expect(hashOf(perturb(motionBlur, digits, 3))).toMatchInlineSnapshot(
      `"3ef5b51fecb1f3ad9708406b9955403f9bfa50eaae9a5c594ff1f4a6582ed874"`,
    );
    expect(hashOf(perturb(motionBlur, rgb, 3))).toMatchInlineSnapshot(
      `"d1d1844fe7bb09583b2db15d5053dd9fc37fd65b062a400473cb1648603fff8e"`,
    );
  });
  it('zoom_blur', () => {
    expect(hashOf(perturb(zoomBlur, digits, 3))).toMatchInlineSnapshot(
      `"9d44e26963e9cceb2909b37da8d5b609cb847b7d850b735e0eb263ab4c7a6317"`,
    );
    expect(hashOf(perturb(zoomBlur, rgb, 3))).toMatchInlineSnapshot(
      `"54a60846dc1ded72807f6440026fe4633f5e3e8edabdc436e8376d5b84163e04"`,
    );
  });
  it('elastic_transform', () => {
    expect(hashOf(perturb(elasticTransform, digits, 3))).toMatchInlineSnapshot(
      `"167275fd556fdc89e90b174447b55fb42597aa66242740b321e121fc35e0f6ef"`,
    );
    expect(hashOf(perturb(elasticTransform, rgb, 3))).toMatchInlineSnapshot(
      `"98cad3c73a46ff0afa9ed99ca4987305d6ed1347ee0348e65ac49e44009ced23"`,
    );
  });
});
