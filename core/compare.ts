import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StatisticsSpecV1 } from '../spec';
import { decodeNpy } from './data/npy';
import { TempestInputError } from './errors';
import { correctComparisons, pairedComparison, type Comparison, type ComparedSide } from './evaluation';
import { correctnessOf, topPredictions } from './metrics/classification';
import type { BenchmarkResults } from './results';
import type { ArtifactStore } from './store/types';

/** A finished run's results, optionally narrowed to one model ("out/A:cnn"). */
export interface RunSelection {
  readonly label: string;
  readonly results: BenchmarkResults;
  readonly model?: string;
}

/** Read `PATH[:MODEL]`, where PATH is a run's output folder or its results.json. */
export async function loadRunSelection(argument: string): Promise<RunSelection> {
  const separator = argument.lastIndexOf(':');
  const [path, model] =
    separator > 0 && !argument.slice(separator).includes('/')
      ? [argument.slice(0, separator), argument.slice(separator + 1)]
      : [argument, undefined];
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'results.json');
  } catch {
    throw new TempestInputError(`${path}: no such run folder or results.json`, 'RunNotFound');
  }
  let results: BenchmarkResults;
  try {
    results = JSON.parse(await readFile(file, 'utf8')) as BenchmarkResults;
  } catch (error) {
    throw new TempestInputError(`${file}: cannot read results (${(error as Error).message})`, 'RunNotFound');
  }
  if (results.apiVersion !== 'tempest.results/v1') {
    throw new TempestInputError(`${file} is not a Tempest results.json`, 'RunNotFound');
  }
  if (model !== undefined && !results.models.some((entry) => entry.id === model)) {
    throw new TempestInputError(
      `${file} has no model "${model}" (models: ${results.models.map((entry) => entry.id).join(', ')})`,
      'UnknownModel',
    );
  }
  return { label: model ? `${path}:${model}` : path, results, model };
}

async function correctness(store: ArtifactStore, logits: string, labels: Int32Array): Promise<Uint8Array> {
  const scores = decodeNpy(await store.getBlob(logits));
  return correctnessOf(topPredictions(scores.values as Float32Array, scores.shape[1]).predictions, labels);
}

/**
 * Paired comparisons of run B against run A, cell by cell on the same samples: the same model (or
 * the two named models) under the same condition and seed. p-values are corrected together.
 */
export async function compareRuns(
  store: ArtifactStore,
  a: RunSelection,
  b: RunSelection,
  settings: Partial<StatisticsSpecV1> = {},
): Promise<Comparison[]> {
  const { level, alpha, correction, minimumEffect } = StatisticsSpecV1.parse(settings);
  if (
    a.results.dataset.hash !== b.results.dataset.hash ||
    a.results.dataset.labels !== b.results.dataset.labels
  ) {
    throw new TempestInputError(
      `${a.label} and ${b.label} evaluated different samples (dataset ${a.results.dataset.hash.slice(0, 12)} vs ` +
        `${b.results.dataset.hash.slice(0, 12)}): a paired comparison needs the same data`,
      'UnpairedRuns',
    );
  }
  const labels = decodeNpy(await store.getBlob(a.results.dataset.labels)).values as Int32Array;
  const raw = [];
  for (const cellA of a.results.cells) {
    if (a.model !== undefined && cellA.model !== a.model) continue;
    const modelB = b.model ?? (a.model === undefined ? cellA.model : undefined);
    const cellB = b.results.cells.find(
      (cell) =>
        cell.model === (modelB ?? cellA.model) &&
        cell.condition === cellA.condition &&
        cell.seed === cellA.seed,
    );
    if (!cellB) continue;
    const side = async (cell: typeof cellA): Promise<ComparedSide> => ({
      model: cell.model,
      condition: cell.condition,
      seed: cell.seed,
      correct: await correctness(store, cell.logits, labels),
      accuracy: cell.metrics.accuracy,
    });
    raw.push(pairedComparison('run-vs-run', await side(cellA), await side(cellB), level));
  }
  if (raw.length === 0) {
    throw new TempestInputError(
      `${a.label} and ${b.label} share no (model, condition, seed) cells to compare; name the models as PATH:MODEL`,
      'NothingToCompare',
    );
  }
  return correctComparisons(raw, { alpha, correction, minimumEffect });
}
