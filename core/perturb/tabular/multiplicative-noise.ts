import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { FeatureSelection, perturbWithNormals, selectFeatures, tableOf } from './table';

/** Relative SD of the multiplicative error, per severity. */
const SIGMA_BY_SEVERITY = [0.02, 0.05, 0.1, 0.15, 0.25] as const;

const MultiplicativeNoiseParams = z
  .object({ sigma: z.number().positive().max(10), features: FeatureSelection })
  .strict();
type MultiplicativeNoiseParams = z.infer<typeof MultiplicativeNoiseParams>;

/**
 * Multiplicative (relative) noise on numeric features: x' = x * (1 + N(0, sigma^2)). The scale is
 * the value itself, as in instruments specified by "percent of reading" (scales, flow meters,
 * gain errors of amplifiers): sigma .02 .05 .1 .15 .25 for severities 1-5 runs from a good
 * instrument's 2% to a quarter of every reading. In units of a feature's SD the error at x is
 * sigma * |x| / sd, so it hits features with small coefficients of variation (sd / |mean|)
 * hardest, e.g. flipper length (CV about .07) more than body mass (about .19) in the penguins
 * data; unlike feature_noise, large values get more noise than small ones. Values are not clipped
 * (a sign flip needs a draw below -1 / sigma, 4 SDs out at severity 5). Draw order: see
 * perturbWithNormals (one normal per feature column, selected or not, in column order).
 */
export const multiplicativeNoise: PerturbationModule<MultiplicativeNoiseParams> = {
  name: 'multiplicative_noise',
  version: '1.0.0',
  description: 'Relative Gaussian noise on numeric features: x * (1 + N(0, sigma^2))',
  reference: 'Tempest tabular suite: sigma .02 .05 .1 .15 .25 (fraction of each value) for severities 1-5',
  inputKind: 'tabular',
  stochastic: true,
  params: MultiplicativeNoiseParams,
  severityParams(severity: number): MultiplicativeNoiseParams {
    return { sigma: SIGMA_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const table = tableOf(batch, context, 'multiplicative_noise');
    const selected = selectFeatures(table, params.features, ['numeric'], 'multiplicative_noise');
    return perturbWithNormals(
      batch,
      table,
      selected,
      context,
      (value, normal) => value * (1 + params.sigma * normal),
    );
  },
};
