import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { adjustHsvPlane } from './color';

/** ImageNet-C saturate: (scale, shift) of the HSV saturation per severity (imagecorruptions 1.1.2). */
const SATURATION_BY_SEVERITY = [
  { scale: 0.3, shift: 0 },
  { scale: 0.1, shift: 0 },
  { scale: 2, shift: 0 },
  { scale: 5, shift: 0.1 },
  { scale: 20, shift: 0.2 },
] as const;

const SaturateParams = z
  .object({ scale: z.number().min(0).max(100), shift: z.number().min(-1).max(1) })
  .strict();
type SaturateParams = z.infer<typeof SaturateParams>;

/**
 * Change colourfulness: S' = clip(S * scale + shift, 0, 1) in HSV, hue and value kept. Follows
 * ImageNet-C's saturate, one of its four validation corruptions (Hendrycks & Dietterich 2019;
 * imagecorruptions 1.1.2: (scale, shift) = (.3, 0) (.1, 0) (2, 0) (5, .1) (20, .2) for severities
 * 1-5), with scikit-image's HSV conventions (see ./color). Severities 1-2 desaturate and 3-5
 * oversaturate, so "severity" orders the size of the change in S, not its direction.
 *
 * Gray images come back unchanged: the reference stacks a gray image to RGB, adjusts S (hue 0)
 * and keeps the red channel, which for hue 0 equals V whatever S is, so its gray output is its
 * input too. (Gray images that a caller first stacks to three channels, as imagecorruptions'
 * `corrupt` wrapper does, are RGB here as there and get a red tint at severities 4-5, where the
 * shift gives gray pixels saturation.) Deviation: the output stays float32 instead of being
 * re-quantized to uint8, so values differ from the reference's by less than 1/255.
 */
export const saturate: PerturbationModule<SaturateParams> = {
  name: 'saturate',
  version: '1.0.0',
  description: 'Scale and shift the HSV saturation, clipped to [0, 1] (gray images unchanged)',
  reference:
    'Hendrycks & Dietterich 2019 (ImageNet-C), S * (.3, .1, 2, 5, 20) + (0, 0, 0, .1, .2) for severities 1-5',
  inputKind: 'image',
  stochastic: false,
  params: SaturateParams,
  severityParams(severity: number): SaturateParams {
    return { ...SATURATION_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    return adjustHsvPlane(batch, context, 'saturate', 'saturation', params.scale, params.shift);
  },
};
