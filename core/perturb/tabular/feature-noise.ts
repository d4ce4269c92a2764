import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { FeatureSelection, perturbWithNormals, profilesOf, selectFeatures, tableOf } from './table';

/** Noise SD in units of each feature's own SD, per severity. */
const SCALE_BY_SEVERITY = [0.1, 0.2, 0.3, 0.5, 0.8] as const;

const FeatureNoiseParams = z
  .object({ scale: z.number().positive().max(10), features: FeatureSelection })
  .strict();
type FeatureNoiseParams = z.infer<typeof FeatureNoiseParams>;

/**
 * Additive measurement noise on numeric features: x' = x + N(0, (scale * sd_j)^2), where sd_j is
 * feature j's sample SD over the whole clean dataset. Noise is measured in each feature's own SD
 * so that one severity means the same on every feature whatever its unit (grams, millimetres):
 * scale .1 .2 .3 .5 .8 for severities 1-5 runs from a re-measurement error (a tenth of the
 * population's spread) to noise comparable to the spread itself, where classes that differ by
 * about one SD start to overlap. Values are not clipped: a numeric feature has no known range.
 * Features with SD 0 are left as they are. Draw order: see perturbWithNormals (one normal per
 * feature column, selected or not, in column order, from the sample's own stream).
 */
export const featureNoise: PerturbationModule<FeatureNoiseParams> = {
  name: 'feature_noise',
  version: '1.0.0',
  description: "Additive Gaussian noise on numeric features, SD = scale x the feature's SD",
  reference: 'Tempest tabular suite: scale .1 .2 .3 .5 .8 of each feature SD for severities 1-5',
  inputKind: 'tabular',
  stochastic: true,
  params: FeatureNoiseParams,
  severityParams(severity: number): FeatureNoiseParams {
    return { scale: SCALE_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const table = tableOf(batch, context, 'feature_noise');
    const selected = selectFeatures(table, params.features, ['numeric'], 'feature_noise');
    const noiseSd = Float64Array.from(
      profilesOf(table, context, 'feature_noise'),
      (p) => params.scale * p.std,
    );
    return perturbWithNormals(batch, table, selected, context, (value, normal, column) =>
      noiseSd[column] === 0 ? value : value + normal * noiseSd[column],
    );
  },
};
