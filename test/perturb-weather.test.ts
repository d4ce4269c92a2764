import { describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { sha256Hex } from '../core/hash';
import { fog } from '../core/perturb/image/fog';
import { frost, frostPattern } from '../core/perturb/image/frost';
import type { PerturbationModule } from '../core/perturb/module';
import { snow } from '../core/perturb/image/snow';
import { spatter } from '../core/perturb/image/spatter';
import { WEATHER_MODULES } from '../core/perturb/image/weather';
import { zoomCentre } from '../core/perturb/image/filters';
import {
  cannyEdges,
  chamferDistance,
  equalizeHistogram,
  nextPowerOfTwo,
} from '../core/perturb/image/weather-helpers';
import { sliceSamples, type Tensor } from '../core/tensor/tensor';
import { applyAtSeverity, bytesOf, imageContext, meanAbsoluteChange, syntheticRgb } from './helpers/perturb';

const digits = loadMnist('test', 16).inputs;
const rgb = syntheticRgb(4, 40, 48);
const INPUTS = [
  ['MNIST digits', digits],
  ['RGB images', rgb],
] as const;
const SEVERITIES = [1, 2, 3, 4, 5];

const perturb = (module: PerturbationModule, input: Tensor, severity: number, seed: number, first = 0) =>
  applyAtSeverity(module, input, severity, imageContext(seed, first));
const hashOf = (tensor: Tensor) => sha256Hex(bytesOf(tensor));

/** Mean absolute change per severity 1..5, averaged over every image and seeds 1..4. */
function changeBySeverity(module: PerturbationModule, input: Tensor): number[] {
  return SEVERITIES.map((severity) => {
    let total = 0;
    for (let seed = 1; seed <= 4; seed++)
      total += meanAbsoluteChange(perturb(module, input, severity, seed), input);
    return total / 4;
  });
}

const constant = (dims: number[], value: number): Tensor => ({
  dims,
  data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value),
});

describe.each(WEATHER_MODULES)('$name', (module) => {
  it('has the published severity scale and valid parameters for every severity', () => {
    // snow and spatter 1.1.0 draw ziggurat normals (the same distribution, not the same bits).
    expect(module.version).toBe(module.name === 'snow' || module.name === 'spatter' ? '1.1.0' : '1.0.0');
    expect(module.inputKind).toBe('image');
    expect(module.stochastic).toBe(true);
    for (const severity of SEVERITIES) {
      const params = module.severityParams!(severity);
      expect(module.params.parse(params)).toEqual(params);
    }
    expect(module.params.safeParse({ ...module.severityParams!(1), unknown: 1 }).success).toBe(false);
  });

  it.each(INPUTS)('keeps shape and dtype and stays in [0, 1] on %s', (_, input) => {
    for (const severity of SEVERITIES) {
      const output = perturb(module, input, severity, 1);
      expect(output.dims).toEqual(input.dims);
      expect(output.data).toBeInstanceOf(Float32Array);
      expect(output.data.every((value) => value >= 0 && value <= 1)).toBe(true);
    }
  });

  it.each(INPUTS)(
    'gives identical bytes for the same seed and different bytes for another on %s',
    (_, input) => {
      expect(hashOf(perturb(module, input, 3, 1))).toBe(hashOf(perturb(module, input, 3, 1)));
      expect(hashOf(perturb(module, input, 3, 1))).not.toBe(hashOf(perturb(module, input, 3, 2)));
    },
  );

  it('does not depend on batching: each image draws from its own stream', () => {
    const whole = perturb(module, digits, 4, 7);
    const first = perturb(module, sliceSamples(digits, 0, 5), 4, 7, 0);
    const rest = perturb(module, sliceSamples(digits, 5, 16), 4, 7, 5);
    expect(hashOf({ dims: whole.dims, data: Float32Array.from([...first.data, ...rest.data]) })).toBe(
      hashOf(whole),
    );
  });

  it('handles images far smaller than the reference allows (parameters stay in pixels)', () => {
    for (const dims of [
      [2, 1, 1, 1],
      [1, 1, 5, 3],
      [1, 3, 7, 2],
      [1, 3, 9, 16],
    ]) {
      for (const severity of SEVERITIES) {
        const input = constant(dims, 0.4);
        const output = perturb(module, input, severity, 3);
        expect(output.dims).toEqual(dims);
        expect(output.data.every((value) => value >= 0 && value <= 1)).toBe(true);
      }
    }
  });
});

describe('fog', () => {
  it('grows with severity, except 3 -> 4, which share the density 2.5 and only roughen the fractal', () => {
    for (const [, input] of INPUTS) {
      const [s1, s2, s3, s4, s5] = changeBySeverity(fog, input);
      expect(s2).toBeGreaterThan(s1);
      expect(s3).toBeGreaterThan(s2);
      expect(Math.abs(s4 / s3 - 1)).toBeLessThan(0.03);
      expect(s5).toBeGreaterThan(s4);
    }
  });

  it('maps a flat image onto [x * max / (max + density), (x + density) * max / (max + density)] exactly', () => {
    // 32 x 32 uses the whole 32 x 32 fractal, whose minimum is 0 and maximum 1 by construction.
    const output = perturb(fog, constant([3, 1, 32, 32], 0.5), 1, 5);
    const scale = 0.5 / (0.5 + 1.5);
    for (let image = 0; image < 3; image++) {
      const values = output.data.subarray(image * 1024, (image + 1) * 1024);
      expect(Math.min(...values)).toBeCloseTo(0.5 * scale, 6);
      expect(Math.max(...values)).toBeCloseTo(2 * scale, 6);
    }
  });

  it('leaves an all-black image black (the reference scales by max = 0)', () => {
    expect(perturb(fog, constant([2, 3, 8, 8], 0), 5, 1).data.every((value) => value === 0)).toBe(true);
  });
});

describe('snow', () => {
  it('grows with severity; 2 -> 3 is about flat (fewer but larger, longer flakes), as in the reference', () => {
    for (const [, input] of INPUTS) {
      const [s1, s2, s3, s4, s5] = changeBySeverity(snow, input);
      expect(s2).toBeGreaterThan(s1);
      expect(s3).toBeGreaterThan(0.95 * s2);
      expect(s4).toBeGreaterThan(s3);
      expect(s5).toBeGreaterThan(s4);
    }
  });

  it('whitens a black image to (1 - imageWeight) * 0.5 and adds flakes in steps of 1/255', () => {
    const output = perturb(snow, constant([4, 1, 28, 28], 0), 2, 9);
    const whitened = (1 - 0.7) * 0.5;
    let flakes = 0;
    for (const value of output.data) {
      expect(value).toBeGreaterThanOrEqual(Math.fround(whitened) - 1e-6);
      if (value === 1) continue;
      const steps = (value - whitened) * 255;
      expect(Math.abs(steps - Math.round(steps))).toBeLessThan(1e-3);
      if (steps > 0.5) flakes++;
    }
    expect(flakes).toBeGreaterThan(0);
  });
});

describe('frost', () => {
  it('grows with severity except 3 -> 4: a lower image weight under the same frost weight changes less where frost brightens', () => {
    // The reference shows the same dip (MNIST .4053 -> .4043, synthetic RGB .2967 -> .2848 over 40 seeds).
    for (const [, input] of INPUTS) {
      const [s1, s2, s3, s4, s5] = changeBySeverity(frost, input);
      expect(s2).toBeGreaterThan(s1);
      expect(s3).toBeGreaterThan(s2);
      expect(s4).toBeLessThan(s3);
      expect(s4).toBeGreaterThan(0.9 * s3);
      expect(s5).toBeGreaterThan(s4);
    }
  });

  it('draws a texture with zero mean and unit standard deviation', () => {
    const pattern = new Float64Array(40 * 48);
    frostPattern(40, 48, imageContext(4).streamFor(0), pattern);
    const mean = pattern.reduce((a, b) => a + b, 0) / pattern.length;
    const sd = Math.sqrt(pattern.reduce((sum, value) => sum + (value - mean) ** 2, 0) / pattern.length);
    expect(mean).toBeCloseTo(0, 10);
    expect(sd).toBeCloseTo(1, 10);
  });

  it('is pale blue-white on RGB: frost alone has the measured tones of the reference photos', () => {
    const output = frost.apply(
      constant([12, 3, 32, 32], 0),
      { imageWeight: 0, frostWeight: 1 },
      imageContext(2),
    );
    const pixels = 32 * 32;
    for (let image = 0; image < 12; image++) {
      const means = [0, 1, 2].map((channel) => {
        const start = (image * 3 + channel) * pixels;
        return output.data.subarray(start, start + pixels).reduce((a, b) => a + b, 0) / pixels;
      });
      // Tone means span red .305-.787, green .484-.805, blue .528-.841; blue is always the largest.
      expect(means[0]).toBeGreaterThan(0.28);
      expect(means[2]).toBeLessThan(0.86);
      expect(means[2]).toBeGreaterThan(means[0]);
    }
  });
});

describe('spatter', () => {
  it('grows with severity within each regime; the switch from water (3) to mud (4) depends on the image', () => {
    const [d1, d2, d3, d4, d5] = changeBySeverity(spatter, digits);
    const [r1, r2, r3, r4, r5] = changeBySeverity(spatter, rgb);
    for (const [s1, s2, s3] of [
      [d1, d2, d3],
      [r1, r2, r3],
    ]) {
      expect(s2).toBeGreaterThan(s1);
      expect(s3).toBeGreaterThan(s2);
    }
    expect(d5).toBeGreaterThan(d4);
    expect(r5).toBeGreaterThan(r4);
    // Bright water over MNIST's black background changes more than dark mud (gray level .18)
    // covering it, so severity 4 changes digits less than 3 (the reference: .0375 -> .0289);
    // on the mid-tone RGB images mud changes more (reference: .0336 -> .0401).
    expect(d4).toBeLessThan(d3);
    expect(r4).toBeGreaterThan(r3);
  });

  it('only brightens with water and only darkens a white image with mud', () => {
    for (const severity of [1, 2, 3]) {
      const output = perturb(spatter, rgb, severity, 6);
      expect(output.data.every((value, i) => value >= rgb.data[i])).toBe(true);
    }
    const white = constant([2, 3, 40, 48], 1);
    const muddy = perturb(spatter, white, 5, 6);
    expect(muddy.data.every((value) => value <= 1)).toBe(true);
    expect(muddy.data.some((value) => value < 0.5)).toBe(true);
  });

  it('rejects parameters of the other regime', () => {
    expect(spatter.params.safeParse({ ...spatter.severityParams!(2), maskSigma: 1.5 }).success).toBe(false);
    expect(spatter.params.safeParse({ ...spatter.severityParams!(4), opacity: 0.5 }).success).toBe(false);
  });
});

describe('weather helpers', () => {
  it('nextPowerOfTwo follows the reference', () => {
    expect([0, 1, 2, 3, 28, 32, 33, 224].map(nextPowerOfTwo)).toEqual([1, 1, 2, 4, 32, 32, 64, 256]);
  });

  it('zoomCentre zooms the centre crop and keeps the whole zoomed size', () => {
    const plane = Float64Array.from({ length: 16 }, (_, i) => i);
    const zoomed = zoomCentre(plane, 4, 4, 2);
    expect([zoomed.height, zoomed.width]).toEqual([4, 4]);
    // The centre 2 x 2 is 5 6 / 9 10; its bilinear 4 x 4 zoom keeps those corners.
    expect([zoomed.data[0], zoomed.data[3], zoomed.data[12], zoomed.data[15]]).toEqual([5, 6, 9, 10]);
    expect(zoomCentre(new Float64Array(28 * 28), 28, 28, 3).height).toBe(30);
  });

  it('chamferDistance gives the 5 x 5 chamfer distances (1, 1.4, 2.1969) to the nearest zero', () => {
    const source = new Uint8Array(16).fill(255);
    source[5] = 0; // row 1, column 1
    const distance = new Float32Array(16);
    chamferDistance(source, 4, 4, distance);
    const expected = [
      [1.4, 1, 1.4, 2.1969],
      [1, 0, 1, 2],
      [1.4, 1, 1.4, 2.1969],
      [2.1969, 2, 2.1969, 2.8],
    ].flat();
    expected.forEach((value, i) => expect(distance[i]).toBeCloseTo(value, 5));
  });

  it('equalizeHistogram spreads levels over 0..255 from the lowest present level', () => {
    const twoLevels = Uint8Array.from([10, 10, 200, 200, 10, 10, 200, 200]);
    const out = new Uint8Array(8);
    equalizeHistogram(twoLevels, out);
    expect([...out]).toEqual([0, 0, 255, 255, 0, 0, 255, 255]);
    // 4 x level 0, 4 x level 1, 8 x level 2: level 1 -> round(4 * 255 / 12) = 85.
    const threeLevels = Uint8Array.from([
      ...new Array<number>(4).fill(0),
      ...new Array<number>(4).fill(1),
      ...new Array<number>(8).fill(2),
    ]);
    const equalized = new Uint8Array(16);
    equalizeHistogram(threeLevels, equalized);
    expect([...new Set(equalized)]).toEqual([0, 85, 255]);
    const flat = new Uint8Array(5).fill(7);
    equalizeHistogram(flat, out.subarray(0, 5));
    expect([...out.subarray(0, 5)]).toEqual([7, 7, 7, 7, 7]);
  });

  it('cannyEdges marks a step edge on its dark side and ignores steps below the thresholds', () => {
    const height = 6;
    const width = 8;
    const step = (level: number) =>
      Uint8Array.from({ length: height * width }, (_, i) => (i % width >= 4 ? level : 0));
    const edges = new Uint8Array(height * width);
    cannyEdges(step(200), height, width, 50, 150, edges);
    for (let i = 0; i < edges.length; i++) expect(edges[i]).toBe(i % width === 3 ? 255 : 0);
    // A step of 10 has Sobel magnitude 40, under the low threshold 50.
    cannyEdges(step(10), height, width, 50, 150, edges);
    expect(edges.every((value) => value === 0)).toBe(true);
  });
});

describe('pinned output bytes of each version (digits at severity 3, RGB at severity 5)', () => {
  const pins = (module: PerturbationModule) => ({
    digits: hashOf(perturb(module, digits, 3, 1)),
    rgb: hashOf(perturb(module, rgb, 5, 1)),
  });
  it('snow', () => {
    expect(pins(snow)).toMatchInlineSnapshot(`
      {
        "digits": "0fac41391d6b4225c1cb549f41a9cdaaa4245f38795044584b136966263ef892",
        "rgb": "1ccae3acea74039150eedb2d6a4005d4b371f85e989865231cd04cbdec7ac4d1",
      }
    `);
  });
  it('frost', () => {
    expect(pins(frost)).toMatchInlineSnapshot(`
      {
        "digits": "273c814678f479b7f2a4fba5db015a57d834732794dfc19d2df074ee4533d774",
        "rgb": "646f954dacd6d1039f973577861a511993e7be0c1b3271cca46604d39d5e635c",
      }
    `);
  });
  it('fog', () => {
    expect(pins(fog)).toMatchInlineSnapshot(`
      {
        "digits": "b733fc8a6fb126cd9856a6d39dd0c18b69706c64fe7234b67b64fc53b341fda5",
        "rgb": "8347ac0a7c37703be5ffea758bc69826c996bebbeb4883b5916ab275b1210ab6",
      }
    `);
  });
  it('spatter', () => {
    expect(pins(spatter)).toMatchInlineSnapshot(`
      {
        "digits": "a0891c6075d1682db7968bf57e5f60f2f72cdc812cb21e30194e4655b752e6ae",
        "rgb": "104d1b75fa3385cc73b37f50c277933652ec5e55ff33d0ce5c42b14468162c34",
      }
    `);
  });
});
