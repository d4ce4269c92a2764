import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { mapImages } from './layout';

/** ImageNet-C impulse_noise: fraction of values replaced per severity (imagecorruptions 1.1.2). */
const AMOUNT_BY_SEVERITY = [0.03, 0.06, 0.09, 0.17, 0.27] as const;

/** Number of distinct 32-bit words. */
const WORD_RANGE = 2 ** 32;

const ImpulseNoiseParams = z.object({ amount: z.number().min(0).max(1) }).strict();
type ImpulseNoiseParams = z.infer<typeof ImpulseNoiseParams>;

/**
 * Salt-and-pepper noise: each value (each channel of each pixel, independently) is replaced with
 * probability `amount`, by 1 or 0 with equal odds. Follows ImageNet-C's impulse_noise (Hendrycks
 * & Dietterich 2019; imagecorruptions 1.1.2, amount .03 .06 .09 .17 .27 for severities 1-5), which
 * calls scikit-image's random_noise(mode='s&p', salt_vs_pepper=0.5).
 *
 * Sampling: one 32-bit word w of the image's Philox stream per value in CHW order: salt (1) if
 * w < 2^32 * amount / 2, pepper (0) if w < 2^32 * amount, else unchanged. The probabilities are
 * exact to 2^-32, and one word per value halves the cost of 53-bit uniforms. scikit-image draws
 * two Bernoulli fields (replaced?, salt?) instead; the joint distribution is the same (independent
 * per value, P(salt) = P(pepper) = amount / 2). The reference's generator is unseeded, so there
 * are no reference draws to match. Deviation: values left alone stay float32 where the reference
 * re-quantizes them to uint8.
 */
export const impulseNoise: PerturbationModule<ImpulseNoiseParams> = {
  name: 'impulse_noise',
  version: '1.0.0',
  description: 'Salt-and-pepper noise: each value set to 0 or 1 with probability amount',
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), amount = .03 .06 .09 .17 .27 for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: ImpulseNoiseParams,
  severityParams(severity: number): ImpulseNoiseParams {
    return { amount: AMOUNT_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const replacedBelow = params.amount * WORD_RANGE;
    const saltBelow = replacedBelow / 2;
    return mapImages(batch, context, 'impulse_noise', (image, output, stream) => {
      // The same words as one nextUint32() per value, drawn in bulk.
      const words = stream.fillUint32(new Uint32Array(image.data.length));
      for (let i = 0; i < image.data.length; i++) {
        const word = words[i];
        output[i] = word < saltBelow ? 1 : word < replacedBelow ? 0 : image.data[i];
      }
    });
  },
};
