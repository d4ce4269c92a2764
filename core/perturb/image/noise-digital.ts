import type { PerturbationModule } from '../module';
import { brightness } from './brightness';
import { contrast } from './contrast';
import { impulseNoise } from './impulse-noise';
import { jpegCompression } from './jpeg-compression';
import { pixelate } from './pixelate';
import { saturate } from './saturate';
import { shotNoise } from './shot-noise';
import { speckleNoise } from './speckle-noise';

/**
 * ImageNet-C's noise corruptions other than gaussian_noise, and its digital and colour ones
 * (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2), in the paper's order: noise (shot,
 * impulse), weather's brightness, digital (contrast, pixelate, jpeg), then the validation
 * corruptions speckle_noise and saturate.
 */
export const NOISE_AND_DIGITAL_MODULES: readonly PerturbationModule[] = [
  shotNoise,
  impulseNoise,
  brightness,
  contrast,
  pixelate,
  jpegCompression,
  speckleNoise,
  saturate,
];
