import type { PerturbationModule } from '../module';
import { defocusBlur } from './defocus-blur';
import { elasticTransform } from './elastic-transform';
import { gaussianBlur } from './gaussian-blur';
import { glassBlur } from './glass-blur';
import { motionBlur } from './motion-blur';
import { zoomBlur } from './zoom-blur';

/**
 * ImageNet-C's blur corruptions (defocus, glass, motion, zoom; gaussian_blur is one of its extra
 * corruptions) and its geometric one, elastic_transform, in the paper's order.
 */
export const BLUR_AND_GEOMETRIC_MODULES: readonly PerturbationModule[] = [
  defocusBlur,
  glassBlur,
  motionBlur,
  zoomBlur,
  gaussianBlur,
  elasticTransform,
];
