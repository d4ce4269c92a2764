import { z } from 'zod';
import { float32PlusScaledNormalQuantile } from '../../rng/normal-float32';
import type { PerturbationModule } from '../module';
import { mapImages } from './layout';

/** ImageNet-C gaussian_noise sigma per severity (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2). */
const SIGMA_BY_SEVERITY = [0.08, 0.12, 0.18, 0.26, 0.38] as const;

const GaussianNoiseParams = z.object({ sigma: z.number().positive().max(10) }).strict();
type GaussianNoiseParams = z.infer<typeof GaussianNoiseParams>;

/**
 * Additive Gaussian noise on inputs in [0, 1], clipped back to [0, 1]: x' = clip(x + N(0, sigma^2)).
 * Follows ImageNet-C's gaussian_noise; unlike the reference it keeps float32 values instead of
 * re-quantizing to uint8, and draws from Tempest's seeded per-sample Philox streams instead of
 * NumPy's unseeded global generator. Each normal is the inverse CDF (stdlib's normal quantile) of
 * one 53-bit open uniform: stateless, so element i of a sample always uses the same two words. The
 * float32 sum is computed by core/rng/normal-float32.ts, which gives the same float32 as stdlib's
 * quantile while rarely evaluating it.
 */
export const gaussianNoise: PerturbationModule<GaussianNoiseParams> = {
  name: 'gaussian_noise',
  version: '1.0.0',
  description: 'Additive Gaussian noise N(0, sigma^2), clipped to [0, 1]',
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), sigma = .08 .12 .18 .26 .38 for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: GaussianNoiseParams,
  severityParams(severity: number): GaussianNoiseParams {
    return { sigma: SIGMA_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    return mapImages(batch, context, 'gaussian_noise', (image, output, stream) => {
      // The same uniforms as one uniformOpen() per value, drawn in bulk.
      const uniforms = stream.fillUniformOpen(new Float64Array(image.data.length));
      for (let i = 0; i < image.data.length; i++) {
        output[i] = float32PlusScaledNormalQuantile(image.data[i], 1, uniforms[i], params.sigma);
      }
    });
  },
};
