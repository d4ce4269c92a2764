import { z } from 'zod';
import type { FeatureProfile } from '../../data/profile';
import type { PerturbationModule } from '../module';
import {
  FeatureSelection,
  perturbRows,
  profilesOf,
  selectFeatures,
  tableOf,
  type FeatureKind,
} from './table';

/** Probability that a cell is missing, per severity. */
const PROBABILITY_BY_SEVERITY = [0.05, 0.1, 0.2, 0.3, 0.5] as const;

const Imputation = z.enum(['mean', 'median', 'mode', 'zero']);
type Imputation = z.infer<typeof Imputation>;

const MissingValuesParams = z
  .object({
    probability: z.number().min(0).max(1),
    imputation: Imputation.optional().describe(
      'How the deployed pipeline fills a missing value; default: mean for numeric, mode for categorical features',
    ),
    features: FeatureSelection,
  })
  .strict();
type MissingValuesParams = z.infer<typeof MissingValuesParams>;

/**
 * The kind of feature an imputation can fill: mean, median and zero are numbers, not category
 * codes; the mode exists only for categorical features, since the profile counts categories but
 * not the (mostly unique) values of a continuous measurement.
 */
const KIND_OF_IMPUTATION: Record<Imputation, FeatureKind> = {
  mean: 'numeric',
  median: 'numeric',
  zero: 'numeric',
  mode: 'categorical',
};

const DEFAULT_IMPUTATION: Record<FeatureKind, Imputation> = { numeric: 'mean', categorical: 'mode' };

/** The most frequent category; ties go to the lowest code (the profile lists categories by code). */
function modeOf(profile: FeatureProfile): number {
  let best = profile.categories[0];
  for (const category of profile.categories) if (category.frequency > best.frequency) best = category;
  return best.code;
}

function imputedValue(profile: FeatureProfile, imputation: Imputation): number {
  switch (imputation) {
    case 'mean':
      return profile.mean;
    case 'median':
      return profile.percentiles[50];
    case 'zero':
      return 0;
    case 'mode':
      return modeOf(profile);
  }
}

/**
 * Values missing completely at random, then imputed as a deployed pipeline would: each cell of a
 * chosen feature is lost with probability p, independently (MCAR), and replaced by a statistic of
 * the feature over the whole clean dataset, the one a pipeline fitted on that data would use.
 * p = .05 .1 .2 .3 .5 for severities 1-5, from occasional sensor dropouts to half of every column.
 * The severity is a fraction of the data's own cells; what a loss costs then depends on how far
 * each value lies from the feature's mean, median or mode, which is the point of the benchmark.
 *
 * `imputation` (a choice of the benchmark, not of the severity): without it, numeric features get
 * their mean and categorical ones their mode (most frequent category), and every feature is
 * chosen; with it, every chosen feature gets that imputation, and the default choice is the
 * features it applies to (mean, median, zero: numeric; mode: categorical).
 *
 * Draw order: for every sample, one uniform u per feature column in column order, drawn whether
 * or not the column is chosen (so a feature's mask does not depend on the other choices); the cell
 * is missing when u < p, so with the same stream a larger p loses a superset of the cells.
 */
export const missingValues: PerturbationModule<MissingValuesParams> = {
  name: 'missing_values',
  version: '1.0.0',
  description: 'Cells missing completely at random with probability p, imputed by mean, median, mode or zero',
  reference: 'Rubin 1976 (MCAR) with simple imputation; p = .05 .1 .2 .3 .5 for severities 1-5',
  inputKind: 'tabular',
  stochastic: true,
  params: MissingValuesParams,
  severityParams(severity: number): MissingValuesParams {
    return { probability: PROBABILITY_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const table = tableOf(batch, context, 'missing_values');
    const kinds: FeatureKind[] = params.imputation
      ? [KIND_OF_IMPUTATION[params.imputation]]
      : ['numeric', 'categorical'];
    const selected = selectFeatures(table, params.features, kinds, 'missing_values');
    // Only chosen columns are filled, and only they are guaranteed a statistic of the imputation's kind.
    const fill = Float64Array.from(profilesOf(table, context, 'missing_values'), (profile, column) =>
      selected[column] ? imputedValue(profile, params.imputation ?? DEFAULT_IMPUTATION[profile.kind]) : 0,
    );
    return perturbRows(batch, table, context, (values, offset, stream) => {
      for (let column = 0; column < table.width; column++) {
        const missing = stream.uniform() < params.probability;
        if (missing && selected[column]) values[offset + column] = fill[column];
      }
    });
  },
};
