import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sha256Hex } from '../../core/hash';
import { accuracyOf } from '../../core/metrics/accuracy';
import { buildModel, CLASSIFIER_INPUT, CLASSIFIER_OUTPUT } from '../../core/model/onnx-builder';
import { packageRoot } from '../../core/package-root';

/**
 * The tabular example: the Palmer penguins (Gorman, Williams & Fraser 2014), as shipped in the
 * devDependency vega-datasets@3.2.1, written as a CSV Tempest loads, plus a small classifier of
 * the species trained on it and exported as ONNX. Everything is deterministic (fixed split, zero
 * initialization, full-batch gradient descent in float64 for a fixed number of steps), so
 * rerunning gives the same bytes and the committed files and their SHA256SUMS can be checked by
 * anyone (test/examples-penguins.test.ts does).
 *
 * Encoding (codes in alphabetical order of the names, so they need no lookup table to explain):
 *   species (label): 0 Adelie, 1 Chinstrap, 2 Gentoo
 *   island:          0 Biscoe, 1 Dream, 2 Torgersen
 *   sex:             0 FEMALE, 1 MALE
 * The 11 rows with a missing value (null, or "." for one sex) are dropped: 344 -> 333 rows, kept
 * in the source's order.
 */

export const SPECIES = ['Adelie', 'Chinstrap', 'Gentoo'] as const;
export const ISLANDS = ['Biscoe', 'Dream', 'Torgersen'] as const;
export const SEXES = ['FEMALE', 'MALE'] as const;

/** The CSV's columns: the label first, then the model's six input features in input order. */
export const LABEL_COLUMN = 'species';
export const FEATURE_COLUMNS = [
  'island',
  'bill_length_mm',
  'bill_depth_mm',
  'flipper_length_mm',
  'body_mass_g',
  'sex',
] as const;
export const CATEGORICAL_COLUMNS = ['island', 'sex'] as const;

export const CSV_FILE = 'penguins.csv';
export const MODEL_FILE = 'penguins-classifier.onnx';

/** sha256 of vega-datasets@3.2.1's data/penguins.json: another source would silently give another CSV. */
const SOURCE_SHA256 = '0facf769609f1205b82cbceb8238c36af3e6147a0ca0e163902cc6281ce3e917';

/** Every fifth row (index % 5 === 4) is held out of training, to measure accuracy on unseen penguins. */
export const isHeldOut = (row: number): boolean => row % 5 === 4;

/** Multinomial logistic regression, full-batch gradient descent from zero weights. */
const TRAINING = { iterations: 2000, learningRate: 0.5, l2: 1e-3 } as const;

interface SourceRecord {
  readonly Species: string;
  readonly Island: string;
  readonly 'Beak Length (mm)': number | null;
  readonly 'Beak Depth (mm)': number | null;
  readonly 'Flipper Length (mm)': number | null;
  readonly 'Body Mass (g)': number | null;
  readonly Sex: string | null;
}

/** The cleaned table: one label and FEATURE_COLUMNS.length values per row, as float64. */
export interface PenguinTable {
  readonly labels: Int32Array;
  readonly features: Float64Array;
  readonly rows: number;
}

const WIDTH = FEATURE_COLUMNS.length;
const CLASSES = SPECIES.length;

export function defaultSourcePath(): string {
  return join(packageRoot(), 'node_modules', 'vega-datasets', 'data', 'penguins.json');
}

function codeOf(names: readonly string[], value: string | null, field: string, row: number): number {
  const code = value === null ? -1 : names.indexOf(value);
  if (code < 0) throw new Error(`penguins.json record ${row}: unexpected ${field} ${JSON.stringify(value)}`);
  return code;
}

/** Read vega-datasets' penguins.json, drop incomplete rows, and encode the rest. */
export function readPenguins(sourcePath: string = defaultSourcePath()): PenguinTable {
  const bytes = readFileSync(sourcePath);
  const sha256 = sha256Hex(bytes);
  if (sha256 !== SOURCE_SHA256) {
    throw new Error(
      `${sourcePath} has sha256 ${sha256}, not that of vega-datasets@3.2.1's penguins.json (${SOURCE_SHA256}); ` +
        'install the pinned devDependencies (npm ci) before rebuilding the example',
    );
  }
  const records = JSON.parse(bytes.toString('utf8')) as SourceRecord[];
  const complete = records.filter(
    (record) =>
      [
        record['Beak Length (mm)'],
        record['Beak Depth (mm)'],
        record['Flipper Length (mm)'],
        record['Body Mass (g)'],
      ].every((value) => typeof value === 'number') &&
      (SEXES as readonly (string | null)[]).includes(record.Sex),
  );
  const labels = new Int32Array(complete.length);
  const features = new Float64Array(complete.length * WIDTH);
  complete.forEach((record, row) => {
    labels[row] = codeOf(SPECIES, record.Species, 'species', row);
    features.set(
      [
        codeOf(ISLANDS, record.Island, 'island', row),
        record['Beak Length (mm)']!,
        record['Beak Depth (mm)']!,
        record['Flipper Length (mm)']!,
        record['Body Mass (g)']!,
        codeOf(SEXES, record.Sex, 'sex', row),
      ],
      row * WIDTH,
    );
  });
  return { labels, features, rows: complete.length };
}

/** The table as CSV text: header, then one line per row; numbers in JavaScript's shortest round-trip form. */
export function penguinsCsv(table: PenguinTable): string {
  const lines = [[LABEL_COLUMN, ...FEATURE_COLUMNS].join(',')];
  for (let row = 0; row < table.rows; row++) {
    const values = table.features.subarray(row * WIDTH, (row + 1) * WIDTH);
    lines.push([table.labels[row], ...values].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Logistic regression on standardized features: logits = ((x - mean) / scale) W^T + bias. */
export interface PenguinClassifier {
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  /** [CLASSES, WIDTH], row-major. */
  readonly weight: Float64Array;
  readonly bias: Float64Array;
}

/** Mean and sample SD of each feature over the given rows. */
function standardization(
  table: PenguinTable,
  rows: readonly number[],
): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(WIDTH);
  const scale = new Float64Array(WIDTH);
  for (const row of rows)
    for (let j = 0; j < WIDTH; j++) mean[j] += table.features[row * WIDTH + j] / rows.length;
  for (const row of rows) {
    for (let j = 0; j < WIDTH; j++)
      scale[j] += (table.features[row * WIDTH + j] - mean[j]) ** 2 / (rows.length - 1);
  }
  for (let j = 0; j < WIDTH; j++) scale[j] = Math.sqrt(scale[j]);
  return { mean, scale };
}

/** Softmax probabilities of one row of logits, in place, shifted by the maximum for stability. */
function softmaxInPlace(logits: Float64Array): void {
  const max = Math.max(...logits);
  let total = 0;
  for (let c = 0; c < logits.length; c++) total += logits[c] = Math.exp(logits[c] - max);
  for (let c = 0; c < logits.length; c++) logits[c] /= total;
}

/**
 * Train on the given rows: minimize mean cross-entropy + l2 / 2 * |W|^2 by plain gradient descent.
 * The L2 term keeps the weights finite on (nearly) separable classes, so the optimum the fixed
 * iteration count approaches is well defined.
 */
export function trainClassifier(table: PenguinTable, rows: readonly number[]): PenguinClassifier {
  const { mean, scale } = standardization(table, rows);
  const standardized = new Float64Array(rows.length * WIDTH);
  rows.forEach((row, i) => {
    for (let j = 0; j < WIDTH; j++) {
      standardized[i * WIDTH + j] = (table.features[row * WIDTH + j] - mean[j]) / scale[j];
    }
  });
  const weight = new Float64Array(CLASSES * WIDTH);
  const bias = new Float64Array(CLASSES);
  const gradWeight = new Float64Array(CLASSES * WIDTH);
  const gradBias = new Float64Array(CLASSES);
  const probabilities = new Float64Array(CLASSES);
  for (let iteration = 0; iteration < TRAINING.iterations; iteration++) {
    gradWeight.fill(0);
    gradBias.fill(0);
    rows.forEach((row, i) => {
      for (let c = 0; c < CLASSES; c++) {
        let logit = bias[c];
        for (let j = 0; j < WIDTH; j++) logit += weight[c * WIDTH + j] * standardized[i * WIDTH + j];
        probabilities[c] = logit;
      }
      softmaxInPlace(probabilities);
      for (let c = 0; c < CLASSES; c++) {
        const error = (probabilities[c] - (table.labels[row] === c ? 1 : 0)) / rows.length;
        gradBias[c] += error;
        for (let j = 0; j < WIDTH; j++) gradWeight[c * WIDTH + j] += error * standardized[i * WIDTH + j];
      }
    });
    for (let k = 0; k < weight.length; k++) {
      weight[k] -= TRAINING.learningRate * (gradWeight[k] + TRAINING.l2 * weight[k]);
    }
    for (let c = 0; c < CLASSES; c++) bias[c] -= TRAINING.learningRate * gradBias[c];
  }
  return { mean, scale, weight, bias };
}

/**
 * The classifier as ONNX: input [N, 6] -> Sub(mean) -> Div(scale) -> Gemm(W^T, bias) -> logits
 * [N, 3]. The standardization stays in the graph as its own nodes, so the model takes the raw
 * measurements of the CSV and anyone reading the graph sees what the model expects.
 */
export function classifierOnnx(classifier: PenguinClassifier): Uint8Array {
  return buildModel({
    graphName: 'penguins_logistic_regression',
    inputs: [{ name: CLASSIFIER_INPUT, type: 'float32', shape: ['N', WIDTH] }],
    outputs: [{ name: CLASSIFIER_OUTPUT, type: 'float32', shape: ['N', CLASSES] }],
    initializers: [
      { name: 'feature_mean', dims: [WIDTH], data: Float32Array.from(classifier.mean) },
      { name: 'feature_scale', dims: [WIDTH], data: Float32Array.from(classifier.scale) },
      { name: 'weight', dims: [CLASSES, WIDTH], data: Float32Array.from(classifier.weight) },
      { name: 'bias', dims: [CLASSES], data: Float32Array.from(classifier.bias) },
    ],
    nodes: [
      { opType: 'Sub', name: 'center', inputs: [CLASSIFIER_INPUT, 'feature_mean'], outputs: ['centered'] },
      {
        opType: 'Div',
        name: 'standardize',
        inputs: ['centered', 'feature_scale'],
        outputs: ['standardized'],
      },
      {
        opType: 'Gemm',
        name: 'linear',
        inputs: ['standardized', 'weight', 'bias'],
        outputs: [CLASSIFIER_OUTPUT],
        attributes: { transB: { int: 1 } },
      },
    ],
  });
}

/**
 * Logits of the exported model on the given rows, computed as the ONNX graph does: float32 inputs
 * (what the CSV loader produces) and float32 parameters, so the accuracy reported here is the one
 * a runtime measures on the CSV.
 */
export function exportedLogits(
  classifier: PenguinClassifier,
  table: PenguinTable,
  rows: readonly number[],
): Float32Array {
  const f32 = (values: Float64Array) => Float64Array.from(Float32Array.from(values));
  const [mean, scale, weight, bias] = [
    classifier.mean,
    classifier.scale,
    classifier.weight,
    classifier.bias,
  ].map(f32);
  const logits = new Float32Array(rows.length * CLASSES);
  const standardized = new Float64Array(WIDTH);
  rows.forEach((row, i) => {
    for (let j = 0; j < WIDTH; j++) {
      standardized[j] = Math.fround(
        Math.fround(Math.fround(table.features[row * WIDTH + j]) - mean[j]) / scale[j],
      );
    }
    for (let c = 0; c < CLASSES; c++) {
      let logit = bias[c];
      for (let j = 0; j < WIDTH; j++) logit += weight[c * WIDTH + j] * standardized[j];
      logits[i * CLASSES + c] = logit;
    }
  });
  return logits;
}

export interface PenguinsBuild {
  readonly rows: number;
  readonly trainRows: number;
  readonly heldOutRows: number;
  readonly trainAccuracy: number;
  readonly heldOutAccuracy: number;
  /** Accuracy on every row of the CSV (what a clean benchmark cell measures). */
  readonly csvAccuracy: number;
  readonly csvSha256: string;
  readonly modelSha256: string;
}

function accuracyOn(classifier: PenguinClassifier, table: PenguinTable, rows: readonly number[]): number {
  const labels = Int32Array.from(rows, (row) => table.labels[row]);
  return accuracyOf(exportedLogits(classifier, table, rows), CLASSES, labels).accuracy;
}

/** Write penguins.csv, penguins-classifier.onnx and their SHA256SUMS (sha256sum format) into `outDir`. */
export async function buildPenguins(options: {
  readonly outDir: string;
  readonly sourcePath?: string;
  readonly log?: (line: string) => void;
}): Promise<PenguinsBuild> {
  const log = options.log ?? (() => {});
  const table = readPenguins(options.sourcePath);
  const allRows = Array.from({ length: table.rows }, (_, row) => row);
  const trainRows = allRows.filter((row) => !isHeldOut(row));
  const heldOutRows = allRows.filter(isHeldOut);
  const classifier = trainClassifier(table, trainRows);
  const csv = new TextEncoder().encode(penguinsCsv(table));
  const model = classifierOnnx(classifier);
  await mkdir(options.outDir, { recursive: true });
  await writeFile(join(options.outDir, CSV_FILE), csv);
  await writeFile(join(options.outDir, MODEL_FILE), model);
  const build: PenguinsBuild = {
    rows: table.rows,
    trainRows: trainRows.length,
    heldOutRows: heldOutRows.length,
    trainAccuracy: accuracyOn(classifier, table, trainRows),
    heldOutAccuracy: accuracyOn(classifier, table, heldOutRows),
    csvAccuracy: accuracyOn(classifier, table, allRows),
    csvSha256: sha256Hex(csv),
    modelSha256: sha256Hex(model),
  };
  const sums = [
    [CSV_FILE, build.csvSha256],
    [MODEL_FILE, build.modelSha256],
  ]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, sha256]) => `${sha256}  ${name}\n`)
    .join('');
  await writeFile(join(options.outDir, 'SHA256SUMS'), sums);
  log(`${CSV_FILE}: ${build.rows} rows, sha256 ${build.csvSha256}`);
  log(
    `${MODEL_FILE}: sha256 ${build.modelSha256}; accuracy train ${build.trainAccuracy.toFixed(4)} ` +
      `(${build.trainRows} rows), held out ${build.heldOutAccuracy.toFixed(4)} (${build.heldOutRows} rows), ` +
      `whole CSV ${build.csvAccuracy.toFixed(4)}`,
  );
  return build;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const outDir = values.out === undefined ? join(packageRoot(), 'examples', 'penguins') : resolve(values.out);
  buildPenguins({ outDir, log: (line) => console.log(line) }).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
