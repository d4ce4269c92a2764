import { describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { sha256Hex } from '../core/hash';
import { brightness } from '../core/perturb/image/brightness';
import { hsvToRgb, rgbToHsv } from '../core/perturb/image/color';
import { contrast } from '../core/perturb/image/contrast';
import { impulseNoise } from '../core/perturb/image/impulse-noise';
import { jpegCompression } from '../core/perturb/image/jpeg-compression';
import { NOISE_AND_DIGITAL_MODULES } from '../core/perturb/image/noise-digital';
import { pixelate } from '../core/perturb/image/pixelate';
import { saturate } from '../core/perturb/image/saturate';
import { shotNoise } from '../core/perturb/image/shot-noise';
import { speckleNoise } from '../core/perturb/image/speckle-noise';
import type { PerturbationModule } from '../core/perturb/module';
import { PhiloxStream } from '../core/rng/philox';
import { sliceSamples, type Tensor } from '../core/tensor/tensor';
import { applyAtSeverity, bytesOf, imageContext, meanAbsoluteChange, syntheticRgb } from './helpers/perturb';

const digits = loadMnist('test', 32).inputs;
const rgb = syntheticRgb(2, 40, 48);
const SEVERITIES = [1, 2, 3, 4, 5] as const;

const perturb = (
  module: PerturbationModule,
  input: Tensor,
  severity: number,
  seed = 1,
  firstSampleIndex = 0,
) => applyAtSeverity(module, input, severity, imageContext(seed, firstSampleIndex));
const hashOfOutput = (module: PerturbationModule, input: Tensor, severity: number, seed = 1) =>
  sha256Hex(bytesOf(perturb(module, input, severity, seed)));
const distances = (module: PerturbationModule, input: Tensor) =>
  SEVERITIES.map((severity) => meanAbsoluteChange(perturb(module, input, severity, 3), input));
const gray = (values: number[], height: number, width: number): Tensor => ({
  dims: [1, 1, height, width],
  data: Float32Array.from(values),
});
/** One RGB pixel per entry, as a [1, 3, 1, n] image. */
const rgbPixels = (pixels: [number, number, number][]): Tensor => ({
  dims: [1, 3, 1, pixels.length],
  data: Float32Array.from([0, 1, 2].flatMap((channel) => pixels.map((pixel) => pixel[channel]))),
});
/** Round to the 256 levels of an 8-bit image, as a file-decoded image would be. */
const onByteGrid = (tensor: Tensor): Tensor => ({
  dims: tensor.dims,
  data: Float32Array.from(tensor.data, (value) => Math.round(value * 255) / 255),
});
const asBytes = (tensor: Tensor) => Uint8Array.from(tensor.data, (value) => Math.round(value * 255));

describe.each(NOISE_AND_DIGITAL_MODULES.map((module) => [module.name, module] as const))(
  '%s',
  (_, module) => {
    it('keeps shape and dtype and stays in [0, 1] on gray digits and RGB images', () => {
      for (const input of [digits, rgb]) {
        for (const severity of [1, 5]) {
          const output = perturb(module, input, severity);
          expect(output.dims).toEqual(input.dims);
          expect(output.data).toBeInstanceOf(Float32Array);
          expect(output.data.every((value) => value >= 0 && value <= 1)).toBe(true);
        }
      }
    });

    it('gives identical bytes for the same seed; another seed differs exactly when stochastic', () => {
      for (const input of [digits, rgb]) {
        expect(hashOfOutput(module, input, 3, 1)).toBe(hashOfOutput(module, input, 3, 1));
        const otherSeedDiffers = hashOfOutput(module, input, 3, 2) !== hashOfOutput(module, input, 3, 1);
        expect(otherSeedDiffers).toBe(module.stochastic);
      }
    });

    it('does not depend on batching', () => {
      const whole = perturb(module, digits, 4, 7);
      const head = perturb(module, sliceSamples(digits, 0, 5), 4, 7, 0);
      const tail = perturb(module, sliceSamples(digits, 5, 32), 4, 7, 5);
      expect(sha256Hex(new Uint8Array([...bytesOf(head), ...bytesOf(tail)]))).toBe(sha256Hex(bytesOf(whole)));
    });

    it('declares its version (1.0.0; speckle_noise 1.1.0), image input and valid parameters for every severity', () => {
      // speckle_noise 1.1.0 draws ziggurat normals (the same distribution, not the same bits).
      expect(module.version).toBe(module.name === 'speckle_noise' ? '1.1.0' : '1.0.0');
      expect(module.inputKind).toBe('image');
      for (const severity of SEVERITIES) {
        expect(module.params.safeParse(module.severityParams!(severity)).success).toBe(true);
      }
    });
  },
);

describe('distance from the clean image grows with severity', () => {
  const strictlyIncreasing = (values: number[]) => values.slice(1).every((value, i) => value > values[i]);

  it.each(['shot_noise', 'impulse_noise', 'speckle_noise', 'brightness', 'contrast', 'jpeg_compression'])(
    '%s: strictly, on digits and on the RGB image',
    (name) => {
      const module = NOISE_AND_DIGITAL_MODULES.find((candidate) => candidate.name === name)!;
      expect(strictlyIncreasing(distances(module, digits))).toBe(true);
      expect(strictlyIncreasing(distances(module, rgb))).toBe(true);
    },
  );

  it('pixelate: strictly on digits; on 40x48 RGB up to severity 4, where 0.25 lands on whole pixels', () => {
    expect(strictlyIncreasing(distances(pixelate, digits))).toBe(true);
    // Severity 5 shrinks 40x48 to 10x12, so every small pixel covers an aligned 4x4 block and
    // nearest-neighbour puts it back in place; severity 4's 12x14 (steps 3.33 and 3.43) misplaces
    // block edges and costs more. The reference (Pillow) behaves the same on this image.
    const rgbDistances = distances(pixelate, rgb);
    expect(strictlyIncreasing(rgbDistances.slice(0, 4))).toBe(true);
    expect(rgbDistances[4]).toBeGreaterThan(rgbDistances[2]);
  });

  it('saturate: desaturation grows from severity 1 to 2, oversaturation from 3 to 5; gray is untouched', () => {
    // The published scale desaturates (x0.3, x0.1) and then oversaturates (x2, x5 + .1, x20 + .2),
    // so severity 3's doubling can change an image less than severity 2's near-removal of colour.
    const rgbDistances = distances(saturate, rgb);
    expect(rgbDistances[1]).toBeGreaterThan(rgbDistances[0]);
    expect(strictlyIncreasing(rgbDistances.slice(2))).toBe(true);
    expect(distances(saturate, digits)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('exact values', () => {
  it('contrast at severity 1 pulls a 2-pixel image 60% of the way to its mean', () => {
    // mean 0.4; (0.2 - 0.4) * 0.4 + 0.4 = 0.32 and (0.6 - 0.4) * 0.4 + 0.4 = 0.48
    const output = perturb(contrast, gray([0.2, 0.6], 1, 2), 1);
    expect(output.data[0]).toBeCloseTo(0.32, 6);
    expect(output.data[1]).toBeCloseTo(0.48, 6);
  });

  it('contrast takes the mean of each RGB channel separately', () => {
    const output = perturb(
      contrast,
      rgbPixels([
        [0, 1, 0.5],
        [1, 1, 0.5],
      ]),
      5,
    );
    // red mean 0.5 -> 0.5 -+ 0.025; green and blue are constant and stay put
    expect(Array.from(output.data, (value) => Number(value.toFixed(6)))).toEqual([
      0.475, 0.525, 1, 1, 0.5, 0.5,
    ]);
  });

  it('brightness adds to a gray level and clips at 1', () => {
    const output = perturb(brightness, gray([0, 0.5, 0.95], 1, 3), 3);
    expect(output.data[0]).toBeCloseTo(0.3, 6);
    expect(output.data[1]).toBeCloseTo(0.8, 6);
    expect(output.data[2]).toBe(1);
  });

  it('brightness raises V and keeps hue and saturation of an RGB pixel', () => {
    // (0.4, 0.2, 0.2): h 0, s 0.5, v 0.4 -> v 0.6 at severity 2 -> (0.6, 0.3, 0.3)
    const output = perturb(brightness, rgbPixels([[0.4, 0.2, 0.2]]), 2);
    expect(Array.from(output.data, (value) => Number(value.toFixed(6)))).toEqual([0.6, 0.3, 0.3]);
  });

  it('saturate scales S: (0.8, 0.4, 0.4) has S 0.5, severity 1 makes it 0.15', () => {
    // v 0.8, s 0.15 -> min = 0.8 * 0.85 = 0.68
    const output = perturb(saturate, rgbPixels([[0.8, 0.4, 0.4]]), 1);
    expect(Array.from(output.data, (value) => Number(value.toFixed(6)))).toEqual([0.8, 0.68, 0.68]);
  });

  it('converts RGB to HSV with scikit-image conventions, including the hue wrap below red', () => {
    const pixels: [number, number, number][] = [
      [1, 0, 0],
      [0.5, 0.25, 0.25],
      [0, 0, 1],
      [1, 0, 0.5],
      [0.25, 0.25, 0.25],
      [0, 0, 0],
    ];
    const hsv = new Float64Array(3 * pixels.length);
    rgbToHsv(rgbPixels(pixels).data, hsv, pixels.length);
    const byPixel = pixels.map((_, i) =>
      [0, 1, 2].map((plane) => Number(hsv[plane * pixels.length + i].toFixed(9))),
    );
    expect(byPixel).toEqual([
      [0, 1, 1],
      [0, 0.5, 0.5],
      [0.666666667, 1, 1],
      [0.916666667, 1, 1],
      [0, 0, 0.25],
      [0, 0, 0],
    ]);
  });

  it('round-trips random colours rgb -> hsv -> rgb within 1e-6', () => {
    const stream = new PhiloxStream([7, 11], [0, 0]);
    const pixels = 10_000;
    const original = Float32Array.from({ length: 3 * pixels }, () => stream.uniform());
    const hsv = new Float64Array(3 * pixels);
    const back = new Float32Array(3 * pixels);
    rgbToHsv(original, hsv, pixels);
    hsvToRgb(hsv, back, pixels);
    let worst = 0;
    for (let i = 0; i < back.length; i++) worst = Math.max(worst, Math.abs(back[i] - original[i]));
    expect(worst).toBeLessThan(1e-6);
  });

  it('pixelate averages boxes and copies them back: 4x4 at scale 0.5 gives 2x2 blocks', () => {
    const input = gray([0, 0.2, 0.4, 0.6, 0.2, 0.2, 0.6, 0.6, 1, 1, 0, 0, 1, 1, 0, 0.4], 4, 4);
    const output = pixelate.apply(input, { scale: 0.5 }, imageContext(1));
    const expected = [0.15, 0.15, 0.55, 0.55, 0.15, 0.15, 0.55, 0.55, 1, 1, 0.1, 0.1, 1, 1, 0.1, 0.1];
    expect(Array.from(output.data, (value) => Number(value.toFixed(6)))).toEqual(expected);
  });

  it('jpeg_compression keeps flat mid-gray exactly and outputs whole 8-bit levels', () => {
    const flat = perturb(jpegCompression, gray(new Array<number>(32 * 32).fill(128 / 255), 32, 32), 5);
    expect(flat.data.every((value) => value === Math.fround(128 / 255))).toBe(true);
    const output = perturb(jpegCompression, rgb, 3);
    expect(output.data.every((value) => Math.abs(value * 255 - Math.round(value * 255)) < 1e-4)).toBe(true);
  });

  it("jpeg_compression reproduces the reference's bytes (Pillow 13, libjpeg-turbo) on 8-bit images", () => {
    // sha256 of the uint8 output of imagecorruptions 1.1.2's jpeg_compression (Pillow 13.0.0) on
    // the same 8-bit inputs: the RGB image in CHW order, and four digits each saved as an 'L' image.
    const pillowRgb = [
      'd98e8bb405b029db66e3d56e9bb40dcd7a794f3feb2b605f749c497ebe6b12b1',
      '27694e81cc6bcfb5089780ea50ac1a41cba1a44cd0b342342702e349971ec253',
      'fa499823b4db7685ec19c0ab860a64f707e8f0f9f4c7c6bb4b47d298ae62d0e2',
      '4088ac1d42d51bc734a78054988c46b25fbed91c2d641a979416195a1334cf66',
      'e062167441aff6df57ff6c5dcc832b63f6364723f377fb9a5740c70a1c33f309',
    ];
    const pillowDigits = [
      'a2a960459f069bb94adf174b20746f600e6e516b4e3f48f8eb8ac64817e64314',
      '67da1573711f2029e9ba87ddfceadc073cc3ecfb500f2b1a21ce0ad1fb59d10d',
      'a6978802f5acfdec35fa019057750ba03ebce50a8cbb02d93bbf3b29a689fd0b',
      'e2eca7ae31ea8c2e21fc2a06b519ca7be70c5b9bed5a1bd56de3736e8c8793b7',
      'e7b49d601551221742008dfbfb8096adf3d61b589387ae9cd145744775e87231',
    ];
    const rgbImage = onByteGrid(syntheticRgb(1, 40, 48));
    const fourDigits = onByteGrid(sliceSamples(digits, 0, 4));
    for (const severity of SEVERITIES) {
      expect(sha256Hex(asBytes(perturb(jpegCompression, rgbImage, severity)))).toBe(pillowRgb[severity - 1]);
      expect(sha256Hex(asBytes(perturb(jpegCompression, fourDigits, severity)))).toBe(
        pillowDigits[severity - 1],
      );
    }
  });
});

describe('noise statistics on flat gray, where clipping cannot interfere', () => {
  const flat = gray(new Array<number>(20 * 784).fill(0.5), 1, 20 * 784);
  const meanAndSd = (values: Float32Array, centre: number) => {
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
    return { meanError: mean - centre, sd: Math.sqrt(variance) };
  };

  it('shot_noise has mean x and variance x / lambda, in steps of 1 / lambda', () => {
    const output = perturb(shotNoise, flat, 1, 11).data;
    const { meanError, sd } = meanAndSd(output, 0.5);
    // lambda 60: sd = sqrt(0.5 / 60) = 0.0913; 15,680 draws give ~1% on the SD
    expect(Math.abs(meanError)).toBeLessThan(0.004);
    expect(Math.abs(sd - Math.sqrt(0.5 / 60)) / Math.sqrt(0.5 / 60)).toBeLessThan(0.04);
    expect(output.every((value) => Math.abs(value * 60 - Math.round(value * 60)) < 1e-4)).toBe(true);
  });

  it('impulse_noise sets amount / 2 of the values to 0 and as many to 1', () => {
    const output = perturb(impulseNoise, flat, 5, 11).data;
    const share = (target: number) => output.filter((value) => value === target).length / output.length;
    // amount 0.27: 0.135 each; standard error 0.0027
    expect(Math.abs(share(0) - 0.135)).toBeLessThan(0.014);
    expect(Math.abs(share(1) - 0.135)).toBeLessThan(0.014);
    expect(share(0.5)).toBeCloseTo(1 - share(0) - share(1), 12);
  });

  it('speckle_noise has sd x * sigma', () => {
    const { meanError, sd } = meanAndSd(perturb(speckleNoise, flat, 1, 11).data, 0.5);
    expect(Math.abs(meanError)).toBeLessThan(0.003);
    expect(Math.abs(sd - 0.5 * 0.15) / (0.5 * 0.15)).toBeLessThan(0.04);
  });

  it('rejects parameters outside what the modules support, saying why', () => {
    const result = shotNoise.params.safeParse({ lambda: 1000 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].message).toMatch(/lambda above 500 is not supported/);
    expect(jpegCompression.params.safeParse({ quality: 7.5 }).success).toBe(false);
  });
});

describe('pinned output bytes of each version', () => {
  it('matches the recorded sha256 per module on fixed input (severity 3, seed 1)', () => {
    const pinned = Object.fromEntries(
      NOISE_AND_DIGITAL_MODULES.map((module) => [
        module.name,
        { digits: hashOfOutput(module, digits, 3), rgb: hashOfOutput(module, rgb, 3) },
      ]),
    );
    expect(pinned).toMatchInlineSnapshot(`
      {
        "brightness": {
          "digits": "c0e3d6e10399e7167049044136285fae3ed1c05c19b7b3c1756373fe0bbc16e6",
          "rgb": "42b0df5348f1fea8b2928a060509129daad1af24b22cd5ff0d7e1c3e5bf786a8",
        },
        "contrast": {
          "digits": "d4dfb4a838992a61eba3bb3a220329b66a8c07294dd8cc6723a1bb4bd562b80e",
          "rgb": "a487077ede87825f5952f71300102148e1f493730e3f08c49f0970d503bcf8e5",
        },
        "impulse_noise": {
          "digits": "3ff034a5dfa0b295847b084c7ab0bac6993aaa0ac609ec74adfe013fbebe5fa4",
          "rgb": "3617c18c4f15c86d9a8446444cdf397636a3f3c1ddfea0b012050e61554b8672",
        },
        "jpeg_compression": {
          "digits": "f96fce3a1ee30c604b36b9e818a7fcd592a49d71c138ffc2e3aee5fadf44c076",
          "rgb": "8a1a419ecc4e027f73454cbe41c19a6f27a2f3dd2715a2dc1036c0332064e0b6",
        },
        "pixelate": {
          "digits": "403a8037bfae8de5b42469cfe3d7ac6b2b6c9ded78e964c838ef8782d1c5586c",
          "rgb": "c6fc89cc7573e157cdc9f801de0460ca5d214a8e53800408221e2cc783d0bf07",
        },
        "saturate": {
          "digits": "8ff3a4499be2ef25dd189d16d3e63da1e0e05114f7cd7d6bfc2fe2be9b002f9f",
          "rgb": "91f1af2cc9b7ade1ef27b35f8a875f44b444d37e531180cc17c357b2ff91fe72",
        },
        "shot_noise": {
          "digits": "9853d9820341c2e9098553776f4bcf9367900f37fca978f843ae6921edaa910a",
          "rgb": "837c90b6e985c710215fe647d9fe5aca0f959c25ab7634988151a86e03912bc1",
        },
        "speckle_noise": {
          "digits": "944d63add9a0f32df20b26ef381154a5943ca671923f693614d9cb3aac1ac0ae",
          "rgb": "c8a66f9f97e6906dae26085a394f5ccfcaf16e0cff0d5bcf20cbb6119d633834",
        },
      }
    `);
  });
});
