import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { plasmaFractal } from './filters';
import { mapImages } from './layout';
import { nextPowerOfTwo } from './weather-helpers';

/** ImageNet-C fog (density of the added haze, wibble decay of the plasma fractal) per severity. */
const FOG_BY_SEVERITY = [
  [1.5, 2],
  [2, 2],
  [2.5, 1.7],
  [2.5, 1.5],
  [3, 1.4],
] as const;

const FogParams = z
  .object({
    /** How much plasma is added before renormalizing (the reference's c[0]). */
    density: z.number().positive().max(100),
    /**
     * How fast the fractal's random offsets shrink from one scale to the next (c[1]); lower
     * values keep more fine detail, so the fog looks patchier.
     */
    wibbleDecay: z.number().positive().max(100),
  })
  .strict();
type FogParams = z.infer<typeof FogParams>;

/**
 * Fog: a diamond-square plasma fractal (values in [0, 1]) of side next_power_of_2(max(H, W)),
 * cropped to H x W and added to every channel with weight `density`; the image is then scaled
 * back by max / (max + density), max being the largest value of the clean image over all
 * channels: x' = (x + density * plasma) * max / (max + density).
 * Follows ImageNet-C's fog (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2, (density,
 * wibble decay) = (1.5, 2) (2, 2) (2.5, 1.7) (2.5, 1.5) (3, 1.4) for severities 1-5).
 *
 * Randomness: the plasma fractal's offsets, drawn from the image's stream in filters.plasmaFractal's
 * fixed order (per scale: the square pass, then the two diamond passes, each row-major), one
 * uniform each; nothing else is drawn.
 *
 * Checked during development: fed Tempest's draws, the reference (with np.float_ restored) gives
 * the same output to 1.5e-7 on MNIST digits and RGB images at every severity.
 *
 * Deviations, none of which change the distribution of outputs: Tempest's seeded Philox streams
 * instead of NumPy's global generator (the reference's fog no longer runs on NumPy 2, whose
 * removal of np.float_ it trips over); float32 output instead of re-quantizing to uint8 (values
 * differ by less than 1/255); the fractal is at least 2 x 2, where the reference's 1 x 1 map is
 * 0 / 0 for a 1 x 1 image; an all-black image stays black (max = 0), as in the reference.
 * The fractal's side is in pixels, so on small images (MNIST's 28 x 28 uses a 32 x 32 map) its
 * coarsest blobs span the whole image and its finest offsets are relatively larger: the fog is
 * patchier relative to the content than on ImageNet's 224 x 224.
 */
export const fog: PerturbationModule<FogParams> = {
  name: 'fog',
  version: '1.0.0',
  description: 'Add a plasma-fractal haze, then rescale: (x + density * plasma) * max / (max + density)',
  reference:
    'Hendrycks & Dietterich 2019 (ImageNet-C), (density, wibble decay) = (1.5,2) (2,2) (2.5,1.7) (2.5,1.5) (3,1.4) for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: FogParams,
  severityParams(severity: number): FogParams {
    const [density, wibbleDecay] = FOG_BY_SEVERITY[severity - 1];
    return { density, wibbleDecay };
  },
  apply(batch, params, context) {
    const { density, wibbleDecay } = params;
    // Buffers reused across the batch's images (they depend only on the image size).
    let plasma: Float64Array | undefined;
    let haze: Float64Array | undefined;
    return mapImages(batch, context, 'fog', (image, output, stream) => {
      const { channels, height, width, data } = image;
      const size = nextPowerOfTwo(Math.max(2, height, width));
      const pixels = height * width;
      if (plasma?.length !== size * size) plasma = new Float64Array(size * size);
      if (haze?.length !== pixels) haze = new Float64Array(pixels);
      plasmaFractal(size, wibbleDecay, stream, plasma);
      // density * plasma on the image's crop, once for all channels.
      for (let y = 0; y < height; y++) {
        const row = y * size;
        const target = y * width;
        for (let x = 0; x < width; x++) haze[target + x] = density * plasma[row + x];
      }
      let max = 0;
      for (let i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
      const scale = max / (max + density);
      for (let channel = 0; channel < channels; channel++) {
        const plane = channel * pixels;
        for (let i = 0; i < pixels; i++) output[plane + i] = (data[plane + i] + haze[i]) * scale;
      }
    });
  },
};
