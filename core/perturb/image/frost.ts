import { z } from 'zod';
import type { PhiloxStream } from '../../rng/philox';
import type { PerturbationModule } from '../module';
import { borderIndex, gaussianFilter, plasmaFractal } from './filters';
import { mapImages } from './layout';
import { nextPowerOfTwo } from './weather-helpers';

/** ImageNet-C frost (weight of the image, weight of the frost layer) per severity. */
const FROST_BY_SEVERITY = [
  [1, 0.4],
  [0.8, 0.6],
  [0.7, 0.7],
  [0.65, 0.7],
  [0.6, 0.75],
] as const;

/**
 * The tone of each of the reference's five frost photographs (frost1.png ... frost5.jpg; the
 * reference draws one with randint(5), so frost6.jpg is never used), measured with OpenCV over the
 * whole photo after the reference's 1.1x INTER_CUBIC resize, on the 0-1 scale: per RGB channel
 * the mean and standard deviation, and the same for the gray layer the reference gives gray
 * images (its rgb2gray weights 0.2989, 0.587, 0.114 applied to cv2.imread's B, G, R order).
 * frost2.png and frost3.png hold the same pixels, so that look is drawn 2 times in 5.
 */
const FROST_TONES = [
  { rgbMean: [0.305, 0.585, 0.65], rgbSd: [0.104, 0.064, 0.06], grayMean: 0.572, graySd: 0.064 },
  { rgbMean: [0.787, 0.805, 0.841], rgbSd: [0.083, 0.086, 0.088], grayMean: 0.814, graySd: 0.086 },
  { rgbMean: [0.787, 0.805, 0.841], rgbSd: [0.083, 0.086, 0.088], grayMean: 0.814, graySd: 0.086 },
  { rgbMean: [0.54, 0.599, 0.648], rgbSd: [0.11, 0.11, 0.116], grayMean: 0.607, graySd: 0.112 },
  { rgbMean: [0.441, 0.484, 0.528], rgbSd: [0.172, 0.168, 0.161], grayMean: 0.492, graySd: 0.166 },
] as const;

/**
 * Geometry of the ice crystals, in pixels of the image: needles of 6 to 40 pixels with feathery
 * side branches, about 1,400 on a 224 x 224 image, like the photos' at their own resolution. The
 * density, softness and haze weight were tuned so that the texture's mean absolute neighbour
 * difference is about 0.35 of its standard deviation, as in the photos (0.31 to 0.43, mean 0.35).
 */
const CRYSTAL_AREA = 35;
const CRYSTAL_MIN_LENGTH = 6;
const CRYSTAL_MAX_LENGTH = 40;
const BRANCH_SPACING = 3;
const BRANCH_LENGTH = 0.4;
/** Gaussian sigma that widens the one-pixel strokes, and the gain before they saturate. */
const CRYSTAL_SOFTNESS = 0.8;
const CRYSTAL_GAIN = 1.5;
/** Weight of the large-scale haze (plasma fractal in [0, 1]) against the crystals. */
const HAZE_WEIGHT = 0.4;
const HAZE_WIBBLE_DECAY = 2;
const HAZE_DOWNSCALE = 4;

const FrostParams = z
  .object({
    /** Weight kept of the image (the reference's c[0]). */
    imageWeight: z.number().min(0).max(10),
    /** Weight of the frost layer (c[1]). */
    frostWeight: z.number().min(0).max(10),
  })
  .strict();
type FrostParams = z.infer<typeof FrostParams>;

/**
 * A straight stroke from (y, x) along `angle`, one splat per pixel of length, fading to its tip:
 * each splat adds its amount at (y + t dy, x + t dx) spread over the four nearest pixels
 * (bilinear), so lines are antialiased. The four additions run in the order top-left, top-right,
 * bottom-left, bottom-right; pixels outside the plane are skipped.
 */
function stroke(
  plane: Float64Array,
  height: number,
  width: number,
  y: number,
  x: number,
  angle: number,
  length: number,
  brightness: number,
): void {
  const dy = Math.sin(angle);
  const dx = Math.cos(angle);
  for (let t = 0; t < length; t++) {
    const py = y + t * dy;
    const px = x + t * dx;
    const amount = brightness * (1 - (0.5 * t) / length);
    const y0 = Math.floor(py);
    const x0 = Math.floor(px);
    const ty = py - y0;
    const tx = px - x0;
    const wy0 = 1 - ty;
    const wx0 = 1 - tx;
    if (y0 >= 0 && y0 + 1 < height && x0 >= 0 && x0 + 1 < width) {
      // All four pixels inside: no per-pixel checks.
      const at = y0 * width + x0;
      plane[at] += amount * wy0 * wx0;
      plane[at + 1] += amount * wy0 * tx;
      plane[at + width] += amount * ty * wx0;
      plane[at + width + 1] += amount * ty * tx;
      continue;
    }
    if (y0 + 1 < 0 || y0 >= height || x0 + 1 < 0 || x0 >= width) continue;
    for (let row = y0; row <= y0 + 1; row++) {
      if (row < 0 || row >= height) continue;
      const wy = row === y0 ? wy0 : ty;
      for (let column = x0; column <= x0 + 1; column++) {
        if (column < 0 || column >= width) continue;
        plane[row * width + column] += amount * wy * (column === x0 ? wx0 : tx);
      }
    }
  }
}

/** Buffers and bilinear taps that depend only on the image size, reused across images. */
interface FrostScratch {
  readonly height: number;
  readonly width: number;
  /** The strokes before softening. */
  readonly strokes: Float64Array;
  /** The haze fractal, of side hazeSize. */
  readonly haze: Float64Array;
  readonly hazeSize: number;
  /** Per output row (and column): the two fractal rows (columns) read and the second's weight. */
  readonly row0: Int32Array;
  readonly row1: Int32Array;
  readonly rowWeight: Float64Array;
  readonly column0: Int32Array;
  readonly column1: Int32Array;
  readonly columnWeight: Float64Array;
}

/** map_coordinates(order=1, mode 'nearest') taps of coordinate i / HAZE_DOWNSCALE, i < count. */
function hazeTaps(
  count: number,
  size: number,
): { first: Int32Array; second: Int32Array; weight: Float64Array } {
  const first = new Int32Array(count);
  const second = new Int32Array(count);
  const weight = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const coordinate = i / HAZE_DOWNSCALE;
    const floor = Math.floor(coordinate);
    first[i] = borderIndex(floor, size, 'nearest');
    second[i] = borderIndex(floor + 1, size, 'nearest');
    weight[i] = coordinate - floor;
  }
  return { first, second, weight };
}

function frostScratch(height: number, width: number): FrostScratch {
  const hazeSize = Math.max(2, nextPowerOfTwo(Math.max(height, width)) / HAZE_DOWNSCALE);
  const rows = hazeTaps(height, hazeSize);
  const columns = hazeTaps(width, hazeSize);
  return {
    height,
    width,
    strokes: new Float64Array(height * width),
    haze: new Float64Array(hazeSize * hazeSize),
    hazeSize,
    row0: rows.first,
    row1: rows.second,
    rowWeight: rows.weight,
    column0: columns.first,
    column1: columns.second,
    columnWeight: columns.weight,
  };
}

/**
 * A procedural frost pattern with zero mean and unit standard deviation over the image: ice
 * crystals (straight needles with side branches every BRANCH_SPACING pixels on alternate sides,
 * shorter towards the tip, like the fern-like dendrites of frost4/frost5 and the needles of
 * frost2/frost3), saturating where they overlap (1 - exp(-density)), plus a low-frequency
 * plasma-fractal haze for the photos' large-scale brightness variation.
 * Draws, in order: 6 uniforms per crystal (position y, x, angle, length, brightness, branch angle)
 * for round(H * W / CRYSTAL_AREA) crystals (at least 1), then the plasma fractal's offsets.
 */
export function frostPattern(
  height: number,
  width: number,
  stream: PhiloxStream,
  out: Float64Array,
  scratch: FrostScratch = frostScratch(height, width),
): void {
  const strokes = scratch.strokes;
  strokes.fill(0);
  const crystals = Math.max(1, Math.round((height * width) / CRYSTAL_AREA));
  // Crystals may start outside the image, so that its borders are as frosty as its centre.
  const margin = CRYSTAL_MAX_LENGTH / 2;
  for (let k = 0; k < crystals; k++) {
    const y = -margin + stream.uniform() * (height + 2 * margin);
    const x = -margin + stream.uniform() * (width + 2 * margin);
    const angle = 2 * Math.PI * stream.uniform();
    const length = CRYSTAL_MIN_LENGTH + stream.uniform() * (CRYSTAL_MAX_LENGTH - CRYSTAL_MIN_LENGTH);
    const brightness = 0.4 + 0.6 * stream.uniform();
    const branchAngle = ((40 + 30 * stream.uniform()) * Math.PI) / 180;
    stroke(strokes, height, width, y, x, angle, length, brightness);
    const sin = Math.sin(angle);
    const cos = Math.cos(angle);
    for (let along = 2, side = 1; along < length; along += BRANCH_SPACING, side = -side) {
      stroke(
        strokes,
        height,
        width,
        y + along * sin,
        x + along * cos,
        angle + side * branchAngle,
        BRANCH_LENGTH * (length - along),
        0.7 * brightness,
      );
    }
  }
  // Soften the needles to the photos' stroke width, then saturate where they pile up.
  gaussianFilter(strokes, height, width, CRYSTAL_SOFTNESS, out);
  for (let i = 0; i < out.length; i++) out[i] = 1 - Math.exp(-CRYSTAL_GAIN * out[i]);
  // The haze only varies over tens of pixels: a quarter-resolution fractal, bilinearly upsampled
  // (map_coordinates order 1, mode 'nearest', at (y / 4, x / 4)), has the same look at a
  // sixteenth of the draws.
  const { hazeSize, row0, row1, rowWeight, column0, column1, columnWeight } = scratch;
  const haze = plasmaFractal(hazeSize, HAZE_WIBBLE_DECAY, stream, scratch.haze);
  for (let y = 0; y < height; y++) {
    const r0 = row0[y] * hazeSize;
    const r1 = row1[y] * hazeSize;
    const ty = rowWeight[y];
    const target = y * width;
    for (let x = 0; x < width; x++) {
      const c0 = column0[x];
      const c1 = column1[x];
      const tx = columnWeight[x];
      out[target + x] +=
        HAZE_WEIGHT *
        ((haze[r0 + c0] * (1 - tx) + haze[r0 + c1] * tx) * (1 - ty) +
          (haze[r1 + c0] * (1 - tx) + haze[r1 + c1] * tx) * ty);
    }
  }
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i];
  const mean = sum / out.length;
  let squares = 0;
  for (let i = 0; i < out.length; i++) squares += (out[i] - mean) ** 2;
  const sd = Math.sqrt(squares / out.length);
  for (let i = 0; i < out.length; i++) out[i] = sd > 0 ? (out[i] - mean) / sd : 0;
}

/**
 * Frost: the image seen through a frosted pane, x' = imageWeight * x + frostWeight * F.
 * The blend and its weights follow ImageNet-C's frost (Hendrycks & Dietterich 2019;
 * imagecorruptions 1.1.2, (1, .4) (.8, .6) (.7, .7) (.65, .7) (.6, .75) for severities 1-5).
 *
 * F IS AN EQUIVALENT, NOT THE REFERENCE'S FROST, so frost results are NOT comparable with
 * published ImageNet-C frost numbers (CE, mCE, corruption accuracy): compare them only with other
 * Tempest frost runs. The reference crops F at random from one of five photographs of frost
 * shipped with its package; Tempest cannot ship those images (they are not ours), so F is
 * procedural. Per image one of five tones is drawn, as the reference draws a photo with
 * randint(5); each tone is the per-channel mean and SD measured on one photo (FROST_TONES: pale
 * blue-white, blue > green > red in every photo), and F = tone mean + tone SD * frostPattern
 * (ice-crystal needles with side branches over a plasma haze, zero mean and unit SD), clipped to
 * [0, 1] as a photo's pixels are. What matches and what does not, measured during development
 * (reference: 2000 random 28 x 28 crops and 400 of 224 x 224 with its own code; Tempest: as many
 * images):
 *  - per-channel mean of F over draws, RGB: reference .571 .656 .702 (28 x 28) and .571 .647 .694
 *    (224 x 224), Tempest .578 .658 .703 and .571 .662 .708; gray: .661 and .663;
 *  - SD of F over all draws and pixels: reference .220 .165 .160, Tempest .221 .167 .160 (gray
 *    .169 both);
 *  - SD within one image: reference .07 (28 x 28) to .09 (224 x 224), Tempest .10 at both sizes,
 *    since a crop's mean wanders around its photo's mean and F's mean is exactly the tone's;
 *  - texture scale: mean absolute neighbour difference / SD is .31 to .43 in the photos (mean
 *    .35), .33 (28 x 28) and .34 (224 x 224) in frostPattern;
 *  - effect: the mean absolute change per severity (40 seeds) is within 1% of the reference's on
 *    32 MNIST digits (Tempest .239 .351 .407 .406 .434, reference .238 .349 .405 .404 .433) and on
 *    the synthetic RGB test images (.233 .274 .296 .284 .296 vs .233 .275 .297 .285 .297).
 * The look of F (needles and fronds, not the photos' particular crystals, blur and lighting) is
 * not the photos', and no per-image statistic beyond these was matched.
 *
 * Randomness, from the image's stream in this order: one uniform for the tone, then
 * frostPattern's draws. Other deviations: float32 output instead of uint8. Sizes: crystals are in
 * pixels, as the reference crops its photos at their own resolution for any image smaller than
 * them, so a 28 x 28 image sees a few crystals at full size.
 */
export const frost: PerturbationModule<FrostParams> = {
  name: 'frost',
  version: '1.0.0',
  description: 'Blend with a procedural frost texture (an equivalent of the ImageNet-C frost photos)',
  reference:
    'Hendrycks & Dietterich 2019 (ImageNet-C), weights (1,.4) (.8,.6) (.7,.7) (.65,.7) (.6,.75) for severities 1-5; procedural frost texture, not the published photos',
  inputKind: 'image',
  stochastic: true,
  params: FrostParams,
  severityParams(severity: number): FrostParams {
    const [imageWeight, frostWeight] = FROST_BY_SEVERITY[severity - 1];
    return { imageWeight, frostWeight };
  },
  apply(batch, params, context) {
    const { imageWeight, frostWeight } = params;
    // Buffers that depend only on the image size, made once per batch.
    let pattern: Float64Array | undefined;
    let scratch: FrostScratch | undefined;
    return mapImages(batch, context, 'frost', (image, output, stream) => {
      const { channels, height, width, data } = image;
      const pixels = height * width;
      const tone = FROST_TONES[Math.floor(stream.uniform() * FROST_TONES.length)];
      if (pattern?.length !== pixels) pattern = new Float64Array(pixels);
      if (scratch?.height !== height || scratch.width !== width) scratch = frostScratch(height, width);
      frostPattern(height, width, stream, pattern, scratch);
      for (let c = 0; c < channels; c++) {
        const mean = channels === 3 ? tone.rgbMean[c] : tone.grayMean;
        const sd = channels === 3 ? tone.rgbSd[c] : tone.graySd;
        const plane = c * pixels;
        for (let i = 0; i < pixels; i++) {
          const value = mean + sd * pattern[i];
          // Math.min(1, Math.max(0, value)) without the calls (value is never NaN).
          const frostValue = value < 0 ? 0 : value > 1 ? 1 : value;
          output[plane + i] = imageWeight * data[plane + i] + frostWeight * frostValue;
        }
      }
    });
  },
};
