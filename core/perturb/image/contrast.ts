import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { forEachPlane, mapImages } from './layout';

/** ImageNet-C contrast: the factor kept of each pixel's distance to the mean, per severity. */
const FACTOR_BY_SEVERITY = [0.4, 0.3, 0.2, 0.1, 0.05] as const;

const ContrastParams = z.object({ factor: z.number().min(0).max(10) }).strict();
type ContrastParams = z.infer<typeof ContrastParams>;

/**
 * Lower contrast: x' = (x - mean) * factor + mean, where the mean is taken per image and per
 * channel over all pixels. Follows ImageNet-C's contrast (Hendrycks & Dietterich 2019;
 * imagecorruptions 1.1.2, factor .4 .3 .2 .1 .05 for severities 1-5); the mean is accumulated in
 * float64, as NumPy's is. Deviation: the output stays float32 instead of being re-quantized to
 * uint8, so values differ from the reference's by less than 1/255.
 */
export const contrast: PerturbationModule<ContrastParams> = {
  name: 'contrast',
  version: '1.0.0',
  description: "Pull every pixel towards its channel's mean: (x - mean) * factor + mean",
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), factor .4 .3 .2 .1 .05 for severities 1-5',
  inputKind: 'image',
  stochastic: false,
  params: ContrastParams,
  severityParams(severity: number): ContrastParams {
    return { factor: FACTOR_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const { factor } = params;
    return mapImages(batch, context, 'contrast', (image, output) => {
      forEachPlane(image, output, (input, out) => {
        let sum = 0;
        for (let i = 0; i < input.length; i++) sum += input[i];
        const mean = sum / input.length;
        for (let i = 0; i < input.length; i++) out[i] = (input[i] - mean) * factor + mean;
      });
    });
  },
};
