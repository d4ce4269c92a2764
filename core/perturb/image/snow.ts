import { z } from 'zod';
import { fillNormals } from '../../rng/ziggurat';
import type { PerturbationModule } from '../module';
import { motionBlur, roundHalfEven, zoomCentre } from './filters';
import { mapImages } from './layout';

/**
 * ImageNet-C snow per severity: flake noise mean and SD, zoom of the flake layer, threshold below
 * which it is cleared, motion-blur radius and sigma, and the weight kept of the image.
 */
const SNOW_BY_SEVERITY = [
  [0.1, 0.3, 3, 0.5, 10, 4, 0.8],
  [0.2, 0.3, 2, 0.5, 12, 4, 0.7],
  [0.55, 0.3, 4, 0.9, 12, 8, 0.7],
  [0.55, 0.3, 4.5, 0.85, 12, 8, 0.65],
  [0.55, 0.3, 2.5, 0.85, 12, 12, 0.55],
] as const;

/** cv2.COLOR_RGB2GRAY weights (ITU-R BT.601), what the reference whitens RGB images with. */
const GRAY_WEIGHTS = [0.299, 0.587, 0.114] as const;

const SnowParams = z
  .object({
    /** Mean of the normal noise the flakes are cut from (the reference's c[0]). */
    noiseMean: z.number().min(-10).max(10),
    /** Its standard deviation (c[1]). */
    noiseSd: z.number().positive().max(10),
    /** Zoom of the noise layer, i.e. the flake size in pixels (c[2]). */
    zoom: z.number().min(1).max(100),
    /** Zoomed noise below this is cleared: higher means fewer flakes (c[3]). */
    threshold: z.number().min(-10).max(10),
    /** Motion-blur length: 2 * radius + 1 shifts (c[4]). */
    blurRadius: z.number().int().min(0).max(100),
    /** Half-Gaussian weight of the shifts (c[5]). */
    blurSigma: z.number().positive().max(100),
    /** Weight of the clean image against its whitened version (c[6]). */
    imageWeight: z.number().min(0).max(1),
  })
  .strict();
type SnowParams = z.infer<typeof SnowParams>;

/**
 * Snow: falling flakes over a whitened image. The flake layer is H x W normal noise
 * N(noiseMean, noiseSd^2), its centre zoomed by `zoom` (scipy zoom, order 1), cleared below
 * `threshold`, clipped to [0, 1], motion-blurred (the reference's own shift-and-add blur, radius
 * `blurRadius`, sigma `blurSigma`) at an angle drawn uniformly in [-135, -45) degrees, rounded to
 * multiples of 1/255 and cropped to the top-left H x W. The image is whitened as
 * x_w = imageWeight * x + (1 - imageWeight) * max(x, 1.5 * gray(x) + 0.5), with gray(x) = x for
 * gray images and 0.299 R + 0.587 G + 0.114 B (cv2 RGB2GRAY) for RGB; then the layer and the layer
 * rotated by 180 degrees are added to every channel: x' = x_w + L + rot180(L).
 * Follows ImageNet-C's snow (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2, the 7-tuple per
 * severity in SNOW_BY_SEVERITY) step for step, including blurring the whole zoomed layer before
 * the crop (the zoomed layer is up to `zoom` pixels larger than the image, and the blur's
 * replicated edge is the zoomed layer's).
 *
 * Randomness, from the image's stream in this order: H x W normals (row-major; ziggurat draws as
 * gaussian_noise 1.1.0's, core/rng/ziggurat.ts), then one uniform for the blur angle. Version
 * 1.1.0 replaces 1.0.0 (normal quantiles of 53-bit uniforms): same distribution, new bytes.
 *
 * Checked during development: fed Tempest's draws, the reference gives the same output to 1.5e-7
 * on MNIST digits and RGB images at every severity.
 *
 * Deviations: Tempest's seeded Philox streams and ziggurat normals instead of NumPy's global
 * generator (same distribution, different draws); the layer is computed in float64 and the output
 * kept float32 instead of re-quantizing to uint8 (the layer's own 1/255 rounding is kept, as it
 * is part of the published definition). Comparability: flake size and blur length are in pixels as
 * published, so on small images (MNIST 28 x 28: a 30 x 30 zoomed layer of only 10 x 10 noise
 * cells at severity 1, streaks 21-25 pixels long) each flake and streak covers a much larger part
 * of the image than on ImageNet's 224 x 224: small images are hit relatively harder.
 */
/**
 * Working planes of one image size, reused by every image and call (apply is synchronous, and
 * each plane is rewritten in full before it is read: no state passes between images).
 */
const buffers: { noise: Float64Array; crop: Float64Array; zoomed: Float64Array; layer: Float64Array } = {
  noise: new Float64Array(0),
  crop: new Float64Array(0),
  zoomed: new Float64Array(0),
  layer: new Float64Array(0),
};

export const snow: PerturbationModule<SnowParams> = {
  name: 'snow',
  version: '1.1.0',
  description: 'Motion-blurred snow flakes added over a whitened image',
  reference:
    'Hendrycks & Dietterich 2019 (ImageNet-C), imagecorruptions 1.1.2 snow parameters for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: SnowParams,
  severityParams(severity: number): SnowParams {
    const [noiseMean, noiseSd, zoom, threshold, blurRadius, blurSigma, imageWeight] =
      SNOW_BY_SEVERITY[severity - 1];
    return { noiseMean, noiseSd, zoom, threshold, blurRadius, blurSigma, imageWeight };
  },
  apply(batch, params, context) {
    return mapImages(batch, context, 'snow', (image, output, stream) => {
      const { channels, height, width, data } = image;
      const pixels = height * width;
      if (buffers.noise.length !== pixels) {
        buffers.noise = new Float64Array(pixels);
        buffers.crop = new Float64Array(pixels);
      }
      const { noise, crop } = buffers;
      fillNormals(stream, params.noiseMean, params.noiseSd, noise);
      const zoomed = zoomCentre(noise, height, width, params.zoom, buffers.zoomed);
      buffers.zoomed = zoomed.data;
      const flakes = zoomed.data;
      const threshold = params.threshold;
      for (let i = 0; i < flakes.length; i++) {
        const value = flakes[i] < threshold ? 0 : flakes[i];
        flakes[i] = value < 0 ? 0 : value > 1 ? 1 : value;
      }
      const angle = -135 + 90 * stream.uniform();
      if (buffers.layer.length !== flakes.length) buffers.layer = new Float64Array(flakes.length);
      const layer = buffers.layer;
      motionBlur(flakes, zoomed.height, zoomed.width, params.blurRadius, params.blurSigma, angle, layer);
      // The layer rounded to multiples of 1/255, cropped to the image: only the crop is used, by
      // itself and rotated by 180 degrees (pixel i and pixel pixels - 1 - i of the crop).
      for (let y = 0; y < height; y++) {
        const row = y * zoomed.width;
        const target = y * width;
        for (let x = 0; x < width; x++) crop[target + x] = roundHalfEven(layer[row + x] * 255) / 255;
      }
      const last = pixels - 1;
      const keep = params.imageWeight;
      const whiten = 1 - keep;
      if (channels === 1) {
        for (let i = 0; i < pixels; i++) {
          const value = data[i];
          output[i] = keep * value + whiten * Math.max(value, 1.5 * value + 0.5) + (crop[i] + crop[last - i]);
        }
        return;
      }
      const [redWeight, greenWeight, blueWeight] = GRAY_WEIGHTS;
      for (let i = 0; i < pixels; i++) {
        const snowfall = crop[i] + crop[last - i];
        const red = data[i];
        const green = data[pixels + i];
        const blue = data[2 * pixels + i];
        const whiteLevel = 1.5 * (redWeight * red + greenWeight * green + blueWeight * blue) + 0.5;
        output[i] = keep * red + whiten * Math.max(red, whiteLevel) + snowfall;
        output[pixels + i] = keep * green + whiten * Math.max(green, whiteLevel) + snowfall;
        output[2 * pixels + i] = keep * blue + whiten * Math.max(blue, whiteLevel) + snowfall;
      }
    });
  },
};
