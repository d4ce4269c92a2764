import { z } from 'zod';
import { fillStandardNormals } from '../../rng/ziggurat';
import type { PerturbationModule } from '../module';
import { mapImages } from './layout';

/** ImageNet-C gaussian_noise sigma per severity (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2). */
const SIGMA_BY_SEVERITY = [0.08, 0.12, 0.18, 0.26, 0.38] as const;

const GaussianNoiseParams = z.object({ sigma: z.number().positive().max(10) }).strict();
type GaussianNoiseParams = z.infer<typeof GaussianNoiseParams>;

/**
 * Additive Gaussian noise on inputs in [0, 1], clipped back to [0, 1]: x' = clip(x + sigma * z),
 * z standard normal. Follows ImageNet-C's gaussian_noise; unlike the reference it keeps float32
 * values instead of re-quantizing to uint8, and draws from Tempest's seeded per-sample Philox
 * streams instead of NumPy's unseeded global generator: one normal per value in CHW order, by the
 * ziggurat method from one 32-bit word each (core/rng/ziggurat.ts).
 *
 * Version 1.1.0 (ziggurat) replaces 1.0.0 (stdlib's normal quantile of one 53-bit uniform, two
 * words per value): the same distribution at a quarter of the cost, different draws, so different
 * bytes; specs pinning 1.0.0 get the catalog's update-the-pin error.
 */
export const gaussianNoise: PerturbationModule<GaussianNoiseParams> = {
  name: 'gaussian_noise',
  version: '1.1.0',
  description: 'Additive Gaussian noise N(0, sigma^2), clipped to [0, 1]',
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), sigma = .08 .12 .18 .26 .38 for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: GaussianNoiseParams,
  severityParams(severity: number): GaussianNoiseParams {
    return { sigma: SIGMA_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    let normals = new Float64Array(0); // one buffer for all images of the batch
    return mapImages(batch, context, 'gaussian_noise', (image, output, stream) => {
      if (normals.length !== image.data.length) normals = new Float64Array(image.data.length);
      fillStandardNormals(stream, normals);
      for (let i = 0; i < image.data.length; i++) output[i] = image.data[i] + params.sigma * normals[i];
    });
  },
};
