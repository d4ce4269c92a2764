import { z } from 'zod';
import type { FeatureProfile } from '../../data/profile';
import type { PerturbationModule } from '../module';
import { FeatureSelection, perturbRows, profilesOf, selectFeatures, tableOf } from './table';

/** Probability that a categorical cell is replaced, per severity. */
const PROBABILITY_BY_SEVERITY = [0.05, 0.1, 0.2, 0.3, 0.5] as const;

const CategoricalFlipParams = z
  .object({ probability: z.number().min(0).max(1), features: FeatureSelection })
  .strict();
type CategoricalFlipParams = z.infer<typeof CategoricalFlipParams>;

/** A feature's categories as parallel arrays, for a lookup without allocation per cell. */
interface Categories {
  readonly codes: Float64Array;
  readonly frequencies: Float64Array;
}

function categoriesOf(profile: FeatureProfile): Categories {
  return {
    codes: Float64Array.from(profile.categories, (category) => category.code),
    frequencies: Float64Array.from(profile.categories, (category) => category.frequency),
  };
}

/**
 * A category other than `current`, drawn with probability proportional to its dataset frequency,
 * by inverting the cumulative frequencies (categories in code order, `current` left out) at
 * `uniform` times their total. `current` itself when it is the only category.
 */
function otherCategory({ codes, frequencies }: Categories, current: number, uniform: number): number {
  let total = 0;
  for (let k = 0; k < codes.length; k++) if (codes[k] !== current) total += frequencies[k];
  if (total === 0) return current;
  const target = uniform * total;
  let cumulative = 0;
  let last = current;
  for (let k = 0; k < codes.length; k++) {
    if (codes[k] === current) continue;
    cumulative += frequencies[k];
    last = codes[k];
    if (target < cumulative) return last;
  }
  // Rounding can leave the target a hair above the last cumulative sum.
  return last;
}

/**
 * Miscoded categories (data-entry errors, a changed coding scheme): each cell of a chosen
 * categorical feature is replaced, with probability p, by a different category drawn from the
 * dataset's own category frequencies with the current one left out, i.e. category k with
 * probability f_k / (1 - f_current). Drawing by frequency keeps the wrong codes plausible (a rare
 * category stays rare) rather than uniform over codes. p = .05 .1 .2 .3 .5 for severities 1-5, the
 * same fractions of cells as missing_values, from occasional entry errors to half the column.
 * A feature with a single category is left unchanged. Numeric features are never touched.
 *
 * Draw order: for every sample, two uniforms (u, v) per feature column in column order, drawn
 * whether or not the column is chosen or flipped; the cell flips when u < p, and v picks the new
 * category. So a feature's flips do not depend on other features or on earlier outcomes, and
 * with the same stream a larger p flips a superset of the cells.
 */
export const categoricalFlip: PerturbationModule<CategoricalFlipParams> = {
  name: 'categorical_flip',
  version: '1.0.0',
  description: 'Replace categorical cells with probability p by another category, drawn by dataset frequency',
  reference: 'Tempest tabular suite: p = .05 .1 .2 .3 .5 for severities 1-5',
  inputKind: 'tabular',
  stochastic: true,
  params: CategoricalFlipParams,
  severityParams(severity: number): CategoricalFlipParams {
    return { probability: PROBABILITY_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const table = tableOf(batch, context, 'categorical_flip');
    const selected = selectFeatures(table, params.features, ['categorical'], 'categorical_flip');
    const categories = profilesOf(table, context, 'categorical_flip').map(categoriesOf);
    return perturbRows(batch, table, context, (values, offset, stream) => {
      for (let column = 0; column < table.width; column++) {
        const flip = stream.uniform() < params.probability;
        const choice = stream.uniform();
        if (flip && selected[column]) {
          values[offset + column] = otherCategory(categories[column], values[offset + column], choice);
        }
      }
    });
  },
};
