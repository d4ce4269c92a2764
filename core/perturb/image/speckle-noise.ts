import { z } from 'zod';
import { fillStandardNormals } from '../../rng/ziggurat';
import type { PerturbationModule } from '../module';
import { mapImages } from './layout';

/** ImageNet-C speckle_noise sigma per severity (imagecorruptions 1.1.2). */
const SIGMA_BY_SEVERITY = [0.15, 0.2, 0.35, 0.45, 0.6] as const;

const SpeckleNoiseParams = z.object({ sigma: z.number().positive().max(10) }).strict();
type SpeckleNoiseParams = z.infer<typeof SpeckleNoiseParams>;

/**
 * Multiplicative Gaussian noise: x' = clip(x + x * sigma * z), z standard normal, so dark pixels
 * stay clean and bright ones get the most noise. Follows ImageNet-C's speckle_noise, one of its
 * four validation corruptions (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2, sigma .15 .2
 * .35 .45 .6 for severities 1-5). Sampling as gaussian_noise 1.1.0: one ziggurat normal per value
 * in CHW order from the image's Philox stream (NumPy's global generator in the reference is
 * unseeded, so there are no reference draws to match). Deviation: the output stays float32
 * instead of being re-quantized to uint8. Version 1.1.0 replaces 1.0.0 (normal quantiles of
 * 53-bit uniforms) as gaussian_noise's does: the same distribution, different bytes.
 */
export const speckleNoise: PerturbationModule<SpeckleNoiseParams> = {
  name: 'speckle_noise',
  version: '1.1.0',
  description: 'Multiplicative Gaussian noise x + x * N(0, sigma^2), clipped to [0, 1]',
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), sigma = .15 .2 .35 .45 .6 for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: SpeckleNoiseParams,
  severityParams(severity: number): SpeckleNoiseParams {
    return { sigma: SIGMA_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    let normals = new Float64Array(0); // one buffer for all images of the batch
    return mapImages(batch, context, 'speckle_noise', (image, output, stream) => {
      if (normals.length !== image.data.length) normals = new Float64Array(image.data.length);
      fillStandardNormals(stream, normals);
      for (let i = 0; i < image.data.length; i++) {
        const value = image.data[i];
        output[i] = value + value * (params.sigma * normals[i]);
      }
    });
  },
};
