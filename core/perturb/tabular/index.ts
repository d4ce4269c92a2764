import type { PerturbationModule } from '../module';
import { categoricalFlip } from './categorical-flip';
import { covariateShift } from './covariate-shift';
import { featureNoise } from './feature-noise';
import { missingValues } from './missing-values';
import { multiplicativeNoise } from './multiplicative-noise';
import { scalingDrift } from './scaling-drift';

/** The built-in perturbations of [N, F] tables, whose severities are defined by each dataset's own statistics. */
export const TABULAR_MODULES: readonly PerturbationModule[] = [
  featureNoise,
  multiplicativeNoise,
  missingValues,
  categoricalFlip,
  covariateShift,
  scalingDrift,
];
