import type { PerturbationModule } from './module';
import { BLUR_AND_GEOMETRIC_MODULES } from './image/blur-geometric';
import { gaussianNoise } from './image/gaussian-noise';
import { NOISE_AND_DIGITAL_MODULES } from './image/noise-digital';
import { WEATHER_MODULES } from './image/weather';
import { TABULAR_MODULES } from './tabular';

/** Every perturbation that ships with Tempest. User modules join them through a ModuleCatalog. */
export const BUILTIN_PERTURBATIONS: readonly PerturbationModule[] = [
  gaussianNoise,
  ...NOISE_AND_DIGITAL_MODULES,
  ...BLUR_AND_GEOMETRIC_MODULES,
  ...WEATHER_MODULES,
  ...TABULAR_MODULES,
];
