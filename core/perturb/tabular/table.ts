import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { z } from 'zod';
import type { FeatureInfo } from '../../data/dataset';
import type { FeatureProfile } from '../../data/profile';
import { TempestInputError } from '../../errors';
import type { PhiloxStream } from '../../rng/philox';
import { makeTensor, type Tensor } from '../../tensor/tensor';
import type { PerturbationContext } from '../module';

/**
 * The shared mechanics of the tabular modules: checking that a batch is an [N, F] table with
 * described features, resolving which features a module may touch, and walking the cells with
 * each sample's own random stream. Modules only supply what happens to one value.
 */

export type FeatureKind = FeatureInfo['kind'];

/** `features` parameter of every tabular module: the feature names to perturb, by default all of the module's kind. */
export const FeatureSelection = z
  .array(z.string().min(1))
  .min(1)
  .optional()
  .describe('Names of the features to perturb; default: every feature the module applies to');

/** An [N, F] batch and what its F columns are. */
export interface Table {
  readonly rows: number;
  readonly width: number;
  readonly features: readonly FeatureInfo[];
}

/** Check that `batch` is tabular data whose columns the context describes. */
export function tableOf(batch: Tensor, context: PerturbationContext, moduleName: string): Table {
  if (batch.dims.length !== 2) {
    throw new TempestInputError(
      `${moduleName} perturbs tabular data as [N, F], got [${batch.dims.join(', ')}]; ` +
        'use it with a CSV or NPY dataset of one row of features per sample',
      'InputKindMismatch',
    );
  }
  const { features } = context;
  if (!features) {
    throw new TempestInputError(
      `${moduleName} needs to know which features are numeric and which categorical, but the dataset ` +
        'describes none; load the table from a CSV or NPY dataset (list categorical columns under `categorical`)',
      'InputKindMismatch',
    );
  }
  const [rows, width] = batch.dims;
  if (features.length !== width) {
    throw new TempestInputError(
      `${moduleName}: the batch has ${width} feature columns but the dataset describes ${features.length}`,
      'DataShapeMismatch',
    );
  }
  return { rows, width, features };
}

/**
 * Which columns a module perturbs, as a 0/1 mask over the F columns: the named features, or all
 * features of the kinds the module accepts. A named feature that does not exist, or that is of a
 * kind the module cannot perturb, is an error rather than silently skipped: a typo must not turn
 * a perturbation into the clean condition.
 */
export function selectFeatures(
  table: Table,
  requested: readonly string[] | undefined,
  accepted: readonly FeatureKind[],
  moduleName: string,
): Uint8Array {
  const { features } = table;
  const selected = new Uint8Array(features.length);
  if (requested === undefined) {
    features.forEach((feature, column) => (selected[column] = accepted.includes(feature.kind) ? 1 : 0));
    return selected;
  }
  for (const name of requested) {
    const column = features.findIndex((feature) => feature.name === name);
    if (column < 0) {
      throw new TempestInputError(
        `${moduleName}: params.features names "${name}", which the dataset does not have ` +
          `(features: ${features.map((feature) => feature.name).join(', ')})`,
        'UnknownFeature',
      );
    }
    if (!accepted.includes(features[column].kind)) {
      throw new TempestInputError(
        `${moduleName} perturbs ${accepted.join(' or ')} features, but "${name}" is ${features[column].kind}; ` +
          'remove it from params.features',
        'FeatureKindMismatch',
      );
    }
    selected[column] = 1;
  }
  return selected;
}

/** Whole-dataset statistics of each column, checked against the table's features. */
export function profilesOf(
  table: Table,
  context: PerturbationContext,
  moduleName: string,
): readonly FeatureProfile[] {
  const profiles = context.profile().features;
  const names = table.features.map((feature) => feature.name);
  if (profiles.length !== table.width || profiles.some((profile, column) => profile.name !== names[column])) {
    throw new TempestInputError(
      `${moduleName}: the dataset profile describes features [${profiles.map((p) => p.name).join(', ')}], ` +
        `the batch has [${names.join(', ')}]`,
      'DataShapeMismatch',
    );
  }
  return profiles;
}

/**
 * A copy of the batch in which each sample (row) has been changed in place by `perturbRow`, given
 * the copy's values, the row's offset into them and the sample's own random stream (keyed by its
 * dataset index, so results never depend on batching).
 */
export function perturbRows(
  batch: Tensor,
  table: Table,
  context: PerturbationContext,
  perturbRow: (values: Float32Array, offset: number, stream: PhiloxStream) => void,
): Tensor {
  const output = makeTensor(batch.dims, batch.data.slice());
  for (let row = 0; row < table.rows; row++) {
    perturbRow(output.data, row * table.width, context.streamFor(context.firstSampleIndex + row));
  }
  return output;
}

/** A copy of the batch with `transform` applied to every value of the selected columns; no randomness. */
export function mapSelected(
  batch: Tensor,
  table: Table,
  selected: Uint8Array,
  transform: (value: number, column: number) => number,
): Tensor {
  const output = makeTensor(batch.dims, batch.data.slice());
  const values = output.data;
  for (let row = 0; row < table.rows; row++) {
    const offset = row * table.width;
    for (let column = 0; column < table.width; column++) {
      if (selected[column]) values[offset + column] = transform(values[offset + column], column);
    }
  }
  return output;
}

/**
 * Gaussian noise on the selected numeric columns: each value becomes `combine(value, z, column)`
 * with z ~ N(0, 1). Draw order: for every sample, one standard normal per feature column in column
 * order (the inverse normal CDF of one 53-bit open uniform), drawn whether or not the column is
 * selected, so the noise a feature gets does not depend on which other features are perturbed.
 */
export function perturbWithNormals(
  batch: Tensor,
  table: Table,
  selected: Uint8Array,
  context: PerturbationContext,
  combine: (value: number, normal: number, column: number) => number,
): Tensor {
  return perturbRows(batch, table, context, (values, offset, stream) => {
    for (let column = 0; column < table.width; column++) {
      const normal = normalQuantile(stream.uniformOpen(), 0, 1);
      if (selected[column]) values[offset + column] = combine(values[offset + column], normal, column);
    }
  });
}
