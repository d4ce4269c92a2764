import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { clippedZoom } from './filters';
import { forEachPlane, mapImages } from './layout';

const ZoomBlurParams = z
  .object({
    /** The zoom factors of the layers averaged with the image; each at least 1 (no zooming out). */
    zoomFactors: z.array(z.number().min(1).max(8)).min(1).max(256),
  })
  .strict();
type ZoomBlurParams = z.infer<typeof ZoomBlurParams>;

/**
 * np.arange(start, stop, step) as NumPy computes it, so the factors are the reference's doubles to
 * the last bit (which decides the crop sizes): ceil((stop - start) / step) values start + i * delta,
 * with delta = (start + step) - start. E.g. arange(1, 1.11, 0.01) has 12 values and ends at 1.11.
 */
function numpyArange(start: number, stop: number, step: number): number[] {
  const count = Math.ceil((stop - start) / step);
  const delta = start + step - start;
  return Array.from({ length: count }, (_, i) => start + i * delta);
}

/** ImageNet-C zoom_blur zoom factors per severity (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2). */
const FACTORS_BY_SEVERITY: readonly (readonly number[])[] = [
  numpyArange(1, 1.11, 0.01),
  numpyArange(1, 1.16, 0.01),
  numpyArange(1, 1.21, 0.02),
  numpyArange(1, 1.26, 0.02),
  numpyArange(1, 1.31, 0.03),
];

/**
 * Zoom blur: the average of the image and copies of it zoomed into the centre by each factor, as a
 * camera zooming during the exposure. Follows ImageNet-C's zoom_blur (Hendrycks & Dietterich 2019;
 * imagecorruptions 1.1.2): severity s uses np.arange(1, stop, step) with (stop, step) = (1.11, .01)
 * (1.16, .01) (1.21, .02) (1.26, .02) (1.31, .03), i.e. 12, 16, 11, 13 and 11 factors from 1 up to
 * 1.11, 1.15, 1.20, 1.24 and 1.30; each copy is the reference's clipped_zoom (centre crop of
 * ceil(size / factor), scipy zoom order 1, top-left crop back to the image size).
 *
 * The arithmetic is the reference's float32 arithmetic: each zoomed layer is rounded to float32
 * (scipy zooms a float32 image into float32), summed into a float32 accumulator in factor order,
 * and (image + sum) / (factors + 1) is rounded to float32. Checked against the reference on 8-bit
 * images: before its final uint8 conversion, all but a handful of values agree to the last bit and
 * those within one float32 step (scipy's interpolation rounds a few layer values the other way).
 *
 * Decisions and deviations, and what they mean for comparability:
 *  - Gray images are zoomed as one plane; the reference's `corrupt` stacks gray into three
 *    identical channels, each equal to Tempest's plane.
 *  - The output stays float32 where the reference truncates to uint8, so Tempest's values are on
 *    average about 0.5/255 higher and differ by at most 1/255.
 *  - The factors are relative, so unlike the other blurs a severity means the same share of the
 *    image at every size; but Tempest accepts images under the reference's 32x32 minimum, where the
 *    crop sizes round coarsely (on 28 pixels the factors 1.01 to 1.03 all crop 28 and only resample).
 */
export const zoomBlur: PerturbationModule<ZoomBlurParams> = {
  name: 'zoom_blur',
  version: '1.0.0',
  description: 'Average of the image and centre zooms of it by each factor (zoom during exposure)',
  reference:
    'Hendrycks & Dietterich 2019 (ImageNet-C), zoom factors np.arange(1, stop, step), (stop, step) = (1.11,.01) (1.16,.01) (1.21,.02) (1.26,.02) (1.31,.03) for severities 1-5',
  inputKind: 'image',
  stochastic: false,
  params: ZoomBlurParams,
  severityParams(severity: number): ZoomBlurParams {
    return { zoomFactors: [...FACTORS_BY_SEVERITY[severity - 1]] };
  },
  apply(batch, params, context) {
    const { zoomFactors } = params;
    let layer = new Float32Array(0);
    let sum = new Float32Array(0);
    return mapImages(batch, context, 'zoom_blur', (image, output) => {
      const { height, width } = image;
      const pixels = height * width;
      if (layer.length !== pixels) {
        layer = new Float32Array(pixels);
        sum = new Float32Array(pixels);
      }
      forEachPlane(image, output, (plane, out) => {
        sum.fill(0);
        for (const factor of zoomFactors) {
          clippedZoom(plane, height, width, factor, layer);
          for (let i = 0; i < pixels; i++) sum[i] += layer[i];
        }
        for (let i = 0; i < pixels; i++) out[i] = Math.fround(plane[i] + sum[i]) / (zoomFactors.length + 1);
      });
    });
  },
};
