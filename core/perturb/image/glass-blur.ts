import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { gaussianFilter } from './filters';
import { mapImages } from './layout';

const GlassBlurParams = z
  .object({
    /** Sigma in pixels of the Gaussian blur applied before and after the shuffle. */
    sigma: z.number().positive().max(64),
    /** Largest pixel displacement d: each offset is drawn from the integers in [-d, d - 1]. */
    maxDelta: z.number().int().min(1).max(64),
    /** Number of passes of the shuffle over the image. */
    iterations: z.number().int().min(1).max(16),
  })
  .strict();
type GlassBlurParams = z.infer<typeof GlassBlurParams>;

/** ImageNet-C glass_blur (sigma, max delta, iterations) per severity (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2). */
const PARAMS_BY_SEVERITY: readonly GlassBlurParams[] = [
  { sigma: 0.7, maxDelta: 1, iterations: 2 },
  { sigma: 0.9, maxDelta: 2, iterations: 1 },
  { sigma: 1, maxDelta: 2, iterations: 3 },
  { sigma: 1.1, maxDelta: 3, iterations: 2 },
  { sigma: 1.5, maxDelta: 4, iterations: 2 },
];

/**
 * Frosted-glass blur: Gaussian blur, quantize to 8 bits, locally shuffle pixels, Gaussian blur
 * again. Follows ImageNet-C's glass_blur (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2,
 * (sigma, max delta, iterations) = (.7,1,2) (.9,2,1) (1,2,3) (1.1,3,2) (1.5,4,2) for severities
 * 1-5); both blurs are skimage.filters.gaussian (edges replicated, truncate 4) per channel plane.
 *
 * The shuffle, exactly as the reference runs it:
 *  - `iterations` passes; in each, rows y = H - d down to d + 1 and, within a row, columns
 *    x = W - d down to d + 1 (the reference's `range(shape - d, d, -1)`); pixels nearer the border
 *    are never written, and images of side <= 2d are not shuffled at all.
 *  - At each (y, x) two offsets are drawn, dx first then dy, each uniform over the integers of the
 *    half-open [-d, d) that np.random.randint(-d, d) samples, so the neighbourhood leans up-left.
 *  - The pixel at (y, x) takes the value of the pixel at (y + dy, x + dx), in all channels at once.
 *    It is a copy, not a swap: the reference writes `x[h, w], x[h', w'] = x[h', w'], x[h, w]` on an
 *    H x W x 3 array, whose right-hand side holds NumPy views, so the second assignment writes the
 *    already-copied value back. Its `corrupt` always passes H x W x 3 arrays (gray is stacked into
 *    three channels), so every published glass_blur image was made with copies; Tempest mirrors
 *    that, for gray images too. A value can travel further than d along a chain of copies within a
 *    pass, because pixels later in the scan read from pixels already rewritten.
 *
 * Randomness: offsets come from the image's own Philox stream, each as floor(u * 2d) - d with
 * u = stream.uniform() (53 bits, bias below 2^-50), in the scan order above; nothing else is
 * drawn. The reference uses NumPy's unseeded global generator, so its draws cannot be reproduced.
 *
 * Decisions and deviations, and what they mean for comparability:
 *  - The reference converts the first blur to uint8 by truncation (np.uint8(blurred * 255)) before
 *    shuffling. Tempest mirrors that: the shuffled values are floor(255 * blurred) / 255. It is part
 *    of the corruption's character (values drop by 0.5/255 on average, up to 1/255) and costs
 *    nothing. Pixels that are 8-bit levels are read as the reference reads them (asEightBitReads),
 *    so on 8-bit images the quantized levels are the reference's, except in flat areas: there the
 *    blurred value is mathematically a level exactly, and float roundoff (summation order differs
 *    from scipy's) can land either just on it or just below it, in the reference as in Tempest,
 *    for different levels (e.g. the reference lowers 96 of the 256 flat levels by one at sigma
 *    1.1). Given the same offsets, Tempest's output matched the reference's to float32 precision
 *    on 224x224 RGB and 32x32 gray photographs at every severity.
 *  - The final blur stays float32 where the reference truncates it to uint8 once more, so Tempest's
 *    output is on average about 0.5/255 higher and differs by at most 1/255.
 *  - Sigma and delta are pixels, as published for 224x224 ImageNet crops; Tempest accepts images
 *    under the reference's 32x32 minimum (MNIST's 28x28), where the same severity scrambles a
 *    larger share of the image, and the unwritten border (the top and left d + 1, the bottom and
 *    right d - 1 rows and columns: 5 and 3 at severity 5) is a larger share of it.
 */
export const glassBlur: PerturbationModule<GlassBlurParams> = {
  name: 'glass_blur',
  version: '1.0.0',
  description:
    'Gaussian blur, 8-bit quantization, local pixel shuffle (same offsets for all channels), blur again',
  reference:
    'Hendrycks & Dietterich 2019 (ImageNet-C), (sigma, delta, iterations) = (.7,1,2) (.9,2,1) (1,2,3) (1.1,3,2) (1.5,4,2) for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: GlassBlurParams,
  severityParams(severity: number): GlassBlurParams {
    return { ...PARAMS_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const { sigma, maxDelta: delta, iterations } = params;
    const span = 2 * delta;
    let levels = new Float64Array(0);
    let input = new Float64Array(0);
    return mapImages(batch, context, 'glass_blur', (image, output, stream) => {
      const { channels, height, width } = image;
      const pixels = height * width;
      if (levels.length !== channels * pixels) {
        levels = new Float64Array(channels * pixels);
        input = new Float64Array(pixels);
      }
      for (let channel = 0; channel < channels; channel++) {
        const start = channel * pixels;
        for (let i = 0; i < pixels; i++) input[i] = asEightBitReads(image.data[start + i]);
        const plane = levels.subarray(start, start + pixels);
        gaussianFilter(input, height, width, sigma, plane);
        for (let i = 0; i < pixels; i++) plane[i] = Math.floor(plane[i] * 255) / 255;
      }
      for (let iteration = 0; iteration < iterations; iteration++) {
        for (let y = height - delta; y > delta; y--) {
          for (let x = width - delta; x > delta; x--) {
            const dx = Math.floor(stream.uniform() * span) - delta;
            const dy = Math.floor(stream.uniform() * span) - delta;
            const target = y * width + x;
            const source = target + dy * width + dx;
            for (let plane = 0; plane < channels * pixels; plane += pixels) {
              levels[plane + target] = levels[plane + source];
            }
          }
        }
      }
      for (let channel = 0; channel < channels; channel++) {
        const start = channel * pixels;
        gaussianFilter(
          levels.subarray(start, start + pixels),
          height,
          width,
          sigma,
          output.subarray(start, start + pixels),
        );
      }
    });
  },
};

/**
 * A pixel as the reference reads it: the reference blurs uint8 / 255 in float64, so a float32 pixel
 * that is exactly an 8-bit level k (float32(k / 255)) is read as the double k / 255; any other value
 * as it is. Without this the ~3e-8 float32 error moves the truncation to the next level at about 1%
 * of pixels of an 8-bit image (blurred values just below a level, e.g. next to flat areas).
 */
function asEightBitReads(value: number): number {
  const level = Math.round(value * 255) / 255;
  return Math.fround(level) === value ? level : value;
}
