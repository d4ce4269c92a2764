import { TempestInputError } from '../errors';
import type { LabeledData } from '../tensor/tensor';
import type { FeatureInfo } from './dataset';

/** Statistics of one feature over the whole clean dataset. */
export interface FeatureProfile {
  readonly name: string;
  readonly kind: FeatureInfo['kind'];
  readonly mean: number;
  /** Sample standard deviation (n - 1). */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** Percentiles 0, 1, ..., 100 (linear interpolation between order statistics, NumPy's default). */
  readonly percentiles: readonly number[];
  /** Category codes with their relative frequencies, sorted by code (categorical features only). */
  readonly categories: readonly { readonly code: number; readonly frequency: number }[];
}

/**
 * What a tabular dataset looks like, so that perturbation severities can be defined in terms of
 * the data's own statistics (noise in units of each feature's SD, shifts in quantiles, flips among
 * the categories that occur).
 */
export interface DatasetProfile {
  readonly samples: number;
  readonly features: readonly FeatureProfile[];
}

function percentile(sorted: Float64Array, q: number): number {
  const position = (q / 100) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

export function profileTabular(
  data: LabeledData,
  features: readonly FeatureInfo[] | undefined,
): DatasetProfile {
  if (!features || data.inputs.dims.length !== 2) {
    throw new TempestInputError(
      `tabular statistics need [N, F] inputs with described features, got [${data.inputs.dims.join(', ')}]`,
      'InputKindMismatch',
    );
  }
  const rows = data.labels.length;
  const width = features.length;
  return {
    samples: rows,
    features: features.map((feature, column) => {
      const values = new Float64Array(rows);
      for (let row = 0; row < rows; row++) values[row] = data.inputs.data[row * width + column];
      const mean = values.reduce((sum, value) => sum + value, 0) / rows;
      const variance =
        rows > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (rows - 1) : 0;
      const sorted = values.slice().sort();
      const counts = new Map<number, number>();
      if (feature.kind === 'categorical')
        for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
      return {
        name: feature.name,
        kind: feature.kind,
        mean,
        std: Math.sqrt(variance),
        min: sorted[0],
        max: sorted[rows - 1],
        percentiles: Array.from({ length: 101 }, (_, q) => percentile(sorted, q)),
        categories: [...counts.entries()]
          .sort(([a], [b]) => a - b)
          .map(([code, count]) => ({ code, frequency: count / rows })),
      };
    }),
  };
}
