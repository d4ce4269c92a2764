import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { fillNormals } from '../../rng/ziggurat';
import { gaussianFilter } from './filters';
import { mapImages } from './layout';
import {
  boxSum3x3,
  cannyEdges,
  chamferDistance,
  equalizeHistogram,
  filter3x3Saturate,
} from './weather-helpers';

/**
 * ImageNet-C spatter per severity: liquid noise mean and SD, its blur sigma, the threshold below
 * which it is dry, then the water opacity (severities 1-3) or the mud mask's blur sigma (4-5).
 */
const SPATTER_BY_SEVERITY: readonly SpatterParams[] = [
  { regime: 'water', noiseMean: 0.65, noiseSd: 0.3, blurSigma: 4, threshold: 0.69, opacity: 0.6 },
  { regime: 'water', noiseMean: 0.65, noiseSd: 0.3, blurSigma: 3, threshold: 0.68, opacity: 0.6 },
  { regime: 'water', noiseMean: 0.65, noiseSd: 0.3, blurSigma: 2, threshold: 0.68, opacity: 0.5 },
  { regime: 'mud', noiseMean: 0.65, noiseSd: 0.3, blurSigma: 1, threshold: 0.65, maskSigma: 1.5 },
  { regime: 'mud', noiseMean: 0.67, noiseSd: 0.4, blurSigma: 1, threshold: 0.65, maskSigma: 1.5 },
];

/** Water is pale turquoise, mud brown (RGB / 255, as the reference). */
const WATER_RGB = [175 / 255, 238 / 255, 238 / 255] as const;
const MUD_RGB = [63 / 255, 42 / 255, 20 / 255] as const;
/** The reference's rgb2gray weights, used to turn the RGB colour into gray for gray images. */
const GRAY_WEIGHTS = [0.2989, 0.587, 0.114] as const;
/** The reference's edge thresholds (on the uint8 liquid layer) and its distance cut-off. */
const CANNY_LOW = 50;
const CANNY_HIGH = 150;
const DISTANCE_CAP = 20;
/** The reference's 3 x 3 emboss kernel, which lights the drops from one side. */
const EMBOSS = [-2, -1, 0, -1, 1, 1, 0, 1, 2] as const;
/** Mud covers only where its blurred mask is at least this (the reference's 0.8). */
const MUD_COVER_MIN = 0.8;

const liquid = {
  /** Mean of the normal noise the liquid layer is made of (the reference's c[0]). */
  noiseMean: z.number().min(-10).max(10),
  /** Its standard deviation (c[1]). */
  noiseSd: z.number().positive().max(10),
  /** Gaussian blur of the noise, i.e. the drop size in pixels (c[2]). */
  blurSigma: z.number().positive().max(100),
  /** Blurred noise below this is dry (c[3]). */
  threshold: z.number().min(-10).max(10),
};
const SpatterParams = z.discriminatedUnion('regime', [
  z
    .object({
      regime: z.literal('water'),
      ...liquid,
      /** Peak opacity of the water colour (c[4] of severities 1-3). */
      opacity: z.number().min(0).max(10),
    })
    .strict(),
  z
    .object({
      regime: z.literal('mud'),
      ...liquid,
      /** Blur of the wet mask before it is cut at 0.8 (c[4] of severities 4-5). */
      maskSigma: z.number().positive().max(100),
    })
    .strict(),
]);
type SpatterParams = z.infer<typeof SpatterParams>;

/**
 * Working buffers, reused by every image of the size they were made for, across calls (apply is
 * synchronous and every buffer is rewritten before it is read, so no state passes between images).
 */
interface SpatterScratch {
  readonly pixels: number;
  readonly noise: Float64Array;
  readonly wet: Float64Array;
  readonly bytes: Uint8Array;
  readonly edges: Uint8Array;
  readonly distance: Float32Array;
  readonly filtered: Float64Array;
  readonly embossed: Float32Array;
}

let sharedScratch: SpatterScratch | undefined;

function makeScratch(pixels: number): SpatterScratch {
  return {
    pixels,
    noise: new Float64Array(pixels),
    wet: new Float64Array(pixels),
    bytes: new Uint8Array(pixels),
    edges: new Uint8Array(pixels),
    distance: new Float32Array(pixels),
    filtered: new Float64Array(pixels),
    embossed: new Float32Array(pixels),
  };
}

/**
 * The water layer's intensity in [0, opacity]: the uint8 liquid layer times its "lighting" map,
 * normalized by its maximum. The lighting map is the reference's OpenCV chain, reimplemented
 * exactly in weather-helpers: Canny edges (50, 150) of the layer, distance to the nearest edge
 * (5 x 5 chamfer), capped at 20, 3 x 3 box blur cast to uint8, histogram equalisation, emboss,
 * 3 x 3 box blur (uint8, rounded). `scratch.wet` receives the product; the intensity is
 * wet[i] * the returned scale (opacity / maximum, applied by the caller as it adds the colour).
 */
function waterIntensity(scratch: SpatterScratch, height: number, width: number, opacity: number): number {
  const { pixels, wet, bytes, edges, distance, filtered } = scratch;
  // 255 - Canny: edges 0, the rest 255; its distance transform is the distance to the nearest
  // edge pixel, truncated at the cap.
  cannyEdges(bytes, height, width, CANNY_LOW, CANNY_HIGH, edges, 0);
  chamferDistance(edges, height, width, distance, DISTANCE_CAP);
  // cv2.blur of float32: float64 sums times 1/9, stored as float32, then truncated by astype(uint8).
  boxSum3x3(distance, height, width, filtered);
  for (let i = 0; i < pixels; i++) edges[i] = Math.trunc(Math.fround(filtered[i] * (1 / 9)));
  equalizeHistogram(edges, edges);
  // filter2D(CV_8U) with the integer emboss kernel: exact integer sums, saturated to uint8.
  filter3x3Saturate(edges, height, width, EMBOSS, scratch.embossed);
  // cv2.blur of uint8 rounds to the nearest integer (sums / 9 are never halfway).
  boxSum3x3(scratch.embossed, height, width, filtered);
  let max = 0;
  for (let i = 0; i < pixels; i++) {
    const value = bytes[i] * Math.round(filtered[i] / 9);
    wet[i] = value;
    if (value > max) max = value;
  }
  return max > 0 ? opacity / max : 0;
}

/**
 * Spatter: water drops (severities 1-3) or mud splashes (4-5) on the lens. Both start from a
 * liquid layer: H x W normal noise N(noiseMean, noiseSd^2), Gaussian-blurred with `blurSigma`
 * (skimage.filters.gaussian: scipy, 'nearest' border, truncate 4) and set to 0 below `threshold`.
 *  - water: the layer's intensity (see waterIntensity) times pale turquoise (175, 238, 238) / 255 is
 *    added: x' = x + w * colour; gray images add the colour's gray value, with the reference's
 *    rgb2gray weights (0.2989, 0.587, 0.114), of min(1, w * colour).
 *  - mud: the wet mask (layer > threshold) is blurred with `maskSigma` and cleared below 0.8, giving
 *    cover m; mud brown (63, 42, 20) / 255 replaces the image there: x' = x (1 - m) + m * colour
 *    (gray images: m times the colour's gray value).
 * Follows ImageNet-C's spatter (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2, the 6-tuple
 * per severity in SPATTER_BY_SEVERITY, whose last entry picks the regime).
 *
 * Randomness: H x W normals from the image's stream (row-major; ziggurat draws, one 32-bit word
 * each but for rare rejections, core/rng/ziggurat.ts), nothing else. Version 1.1.0 replaces 1.0.0
 * (normal quantiles of 53-bit uniforms): the same distribution, new draws, so new bytes.
 *
 * Deviations. The reference's OpenCV steps (Canny, distanceTransform with DIST_L2 and a 5 x 5
 * mask, equalizeHist, blur, filter2D) are reimplemented from OpenCV's algorithms, with their
 * integer, float32 and rounding steps, and gave OpenCV 5.0's exact bytes on 300 random layers
 * during development: they are not simplified stand-ins. Fed Tempest's draws, the reference gives
 * the whole module's output to 1.5e-7 on MNIST digits and RGB images at every severity.
 *  - Tempest's seeded Philox streams and ziggurat normals replace NumPy's global generator
 *    (same distribution, different draws).
 *  - The liquid layer, its blur and the water intensity are float64 where the reference mixes
 *    float32 in (differences ~1e-7, which could flip a pixel lying exactly at a threshold); the
 *    output stays float32 instead of uint8.
 *  - When no pixel of the layer is wet (common on small images at severity 1, whose blur leaves
 *    few independent drops) the reference divides 0 by 0 and returns NaN; Tempest returns the
 *    clean image.
 * Comparability: drop size is in pixels as published, so a 28 x 28 image holds only a few drops,
 * each a large part of the image, or none at all.
 */
export const spatter: PerturbationModule<SpatterParams> = {
  name: 'spatter',
  version: '1.1.0',
  description: 'Water drops (severities 1-3) or mud splashes (4-5) over the image',
  reference:
    'Hendrycks & Dietterich 2019 (ImageNet-C, extra corruption), imagecorruptions 1.1.2 spatter parameters for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: SpatterParams,
  severityParams(severity: number): SpatterParams {
    return { ...SPATTER_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    return mapImages(batch, context, 'spatter', (image, output, stream) => {
      const { channels, height, width, data } = image;
      const pixels = height * width;
      if (sharedScratch?.pixels !== pixels) sharedScratch = makeScratch(pixels);
      const scratch = sharedScratch;
      const { noise, wet } = scratch;
      fillNormals(stream, params.noiseMean, params.noiseSd, noise);
      gaussianFilter(noise, height, width, params.blurSigma, wet);
      const threshold = params.threshold;
      if (params.regime === 'water') {
        // Dry below the threshold; astype(uint8) truncates (the layer is in [0, 1] for the
        // published parameters; saturate otherwise).
        const bytes = scratch.bytes;
        for (let i = 0; i < pixels; i++) {
          const value = wet[i] < threshold ? 0 : wet[i];
          wet[i] = value;
          bytes[i] = Math.min(255, Math.max(0, Math.trunc(value * 255)));
        }
        const scale = waterIntensity(scratch, height, width, params.opacity);
        const [red, green, blue] = WATER_RGB;
        if (channels === 3) {
          for (let i = 0; i < pixels; i++) {
            const w = wet[i] * scale;
            output[i] = data[i] + w * red;
            output[pixels + i] = data[pixels + i] + w * green;
            output[2 * pixels + i] = data[2 * pixels + i] + w * blue;
          }
        } else {
          for (let i = 0; i < pixels; i++) {
            const w = wet[i] * scale;
            output[i] =
              data[i] +
              GRAY_WEIGHTS[0] * Math.min(1, w * red) +
              GRAY_WEIGHTS[1] * Math.min(1, w * green) +
              GRAY_WEIGHTS[2] * Math.min(1, w * blue);
          }
        }
        return;
      }

      const cover = scratch.filtered;
      // The wet mask: the layer, set to 0 below the threshold, strictly above it.
      for (let i = 0; i < pixels; i++) noise[i] = (wet[i] < threshold ? 0 : wet[i]) > threshold ? 1 : 0;
      gaussianFilter(noise, height, width, params.maskSigma, cover);
      for (let i = 0; i < pixels; i++) if (cover[i] < MUD_COVER_MIN) cover[i] = 0;
      if (channels === 3) {
        const [red, green, blue] = MUD_RGB;
        for (let i = 0; i < pixels; i++) {
          const m = cover[i];
          output[i] = data[i] * (1 - m) + m * red;
          output[pixels + i] = data[pixels + i] * (1 - m) + m * green;
          output[2 * pixels + i] = data[2 * pixels + i] * (1 - m) + m * blue;
        }
        return;
      }
      const mudGray =
        GRAY_WEIGHTS[0] * MUD_RGB[0] + GRAY_WEIGHTS[1] * MUD_RGB[1] + GRAY_WEIGHTS[2] * MUD_RGB[2];
      for (let c = 0; c < channels; c++) {
        const plane = c * pixels;
        for (let i = 0; i < pixels; i++)
          output[plane + i] = data[plane + i] * (1 - cover[i]) + cover[i] * mudGray;
      }
    });
  },
};
