import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { adjustHsvPlane } from './color';

/** ImageNet-C brightness: the amount added to V in HSV per severity (imagecorruptions 1.1.2). */
const SHIFT_BY_SEVERITY = [0.1, 0.2, 0.3, 0.4, 0.5] as const;

const BrightnessParams = z.object({ shift: z.number().min(-1).max(1) }).strict();
type BrightnessParams = z.infer<typeof BrightnessParams>;

/**
 * Brighten by adding `shift` to the value channel of HSV, clipped to [0, 1], which keeps hue and
 * saturation (except where V saturates at 1). Follows ImageNet-C's brightness (Hendrycks &
 * Dietterich 2019; imagecorruptions 1.1.2, shift .1 .2 .3 .4 .5 for severities 1-5), with
 * scikit-image's HSV conventions (see ./color). Gray images get clip(x + shift), exactly the
 * reference's gray path. Deviation: the output stays float32 instead of being re-quantized to
 * uint8 (the reference returns floats that its `corrupt` wrapper truncates to uint8), so values
 * differ from the reference's by less than 1/255; the HSV round trip is computed in float64 like
 * the reference's.
 */
export const brightness: PerturbationModule<BrightnessParams> = {
  name: 'brightness',
  version: '1.0.0',
  description: 'Add a constant to the HSV value channel (gray: to the gray level), clipped to [0, 1]',
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), V + .1 .2 .3 .4 .5 in HSV for severities 1-5',
  inputKind: 'image',
  stochastic: false,
  params: BrightnessParams,
  severityParams(severity: number): BrightnessParams {
    return { shift: SHIFT_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    return adjustHsvPlane(batch, context, 'brightness', 'value', 1, params.shift);
  },
};
