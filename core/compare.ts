import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StatisticsSpecV1 } from '../spec';
import { decodeNpy } from './data/npy';
import { TempestInputError } from './errors';
import {
  correctComparisons,
  eceStatistic,
  jackknifeGroupsFor,
  pairedComparison,
  type Comparison,
  type ComparedSide,
  type Interval,
} from './evaluation';
import { correctnessOf, topPredictions } from './metrics/classification';
import type { BenchmarkResults } from './results';
import { pairedBootstrapDifference, type IndexStatistic } from './stats';
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

interface CellScores {
  readonly scores: Float32Array;
  readonly classes: number;
  readonly correct: Uint8Array;
}

async function scoresOf(store: ArtifactStore, logits: string, labels: Int32Array): Promise<CellScores> {
  const decoded = decodeNpy(await store.getBlob(logits));
  const scores = decoded.values as Float32Array;
  const classes = decoded.shape[1];
  return { scores, classes, correct: correctnessOf(topPredictions(scores, classes).predictions, labels) };
}

function accuracyStatistic(correct: Uint8Array): IndexStatistic {
  return (indices) => {
    let hits = 0;
    for (let i = 0; i < indices.length; i++) hits += correct[indices[i]];
    return hits / indices.length;
  };
}

/** A difference B - A with its seeded paired BCa bootstrap interval. */
export interface BootstrapDifference extends Interval {
  readonly method: 'BCa' | 'percentile';
}

/**
 * The paired bootstrap of a run-vs-run comparison: both cells scored on the same resampled
 * samples, so the pairing is kept (Efron & Tibshirani 1993, ch. 14). Accuracy's interval is a
 * check on Newcombe's; ECE has no closed-form paired interval at all.
 */
export interface PairedBootstrap {
  readonly resamples: number;
  readonly accuracy: BootstrapDifference;
  readonly eceA: number;
  readonly eceB: number;
  readonly ece: BootstrapDifference;
}

export interface RunComparison extends Comparison {
  readonly bootstrap: PairedBootstrap | null;
}

function bootstrapDifference(
  a: IndexStatistic,
  b: IndexStatistic,
  n: number,
  seed: unknown,
  level: number,
  resamples: number,
): { difference: BootstrapDifference; estimateA: number; estimateB: number } {
  const interval = pairedBootstrapDifference(b, a, n, {
    resamples,
    level,
    seed,
    jackknifeGroups: jackknifeGroupsFor(n),
  });
  return {
    difference: {
      estimate: interval.estimate,
      lower: interval.lower,
      upper: interval.upper,
      method: interval.method,
    },
    // pairedBootstrapDifference computed b - a, so its "A" is our B.
    estimateA: interval.estimateB,
    estimateB: interval.estimateA,
  };
}

function pairedBootstrap(
  a: CellScores,
  b: CellScores,
  seed: unknown,
  level: number,
  resamples: number,
): PairedBootstrap | null {
  const n = a.correct.length;
  if (n < 2) return null;
  const accuracy = bootstrapDifference(
    accuracyStatistic(a.correct),
    accuracyStatistic(b.correct),
    n,
    { compare: 'accuracy', seed },
    level,
    resamples,
  );
  const ece = bootstrapDifference(
    eceStatistic(a.scores, a.classes, a.correct),
    eceStatistic(b.scores, b.classes, b.correct),
    n,
    { compare: 'ece', seed },
    level,
    resamples,
  );
  return {
    resamples,
    accuracy: accuracy.difference,
    eceA: ece.estimateA,
    eceB: ece.estimateB,
    ece: ece.difference,
  };
}

/**
 * Paired comparisons of run B against run A, cell by cell on the same samples: the same model (or
 * the two named models) under the same condition and seed. p-values are corrected together; each
 * comparison also gets a seeded paired bootstrap of the accuracy and ECE differences.
 */
export async function compareRuns(
  store: ArtifactStore,
  a: RunSelection,
  b: RunSelection,
  settings: Partial<StatisticsSpecV1> = {},
  options: { readonly bootstrap?: boolean } = {},
): Promise<RunComparison[]> {
  const { level, alpha, correction, minimumEffect, bootstrapResamples } = StatisticsSpecV1.parse(settings);
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
  const bootstraps: (PairedBootstrap | null)[] = [];
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
    const [scoresA, scoresB] = await Promise.all([
      scoresOf(store, cellA.logits, labels),
      scoresOf(store, cellB.logits, labels),
    ]);
    const side = (cell: typeof cellA, scores: CellScores): ComparedSide => ({
      model: cell.model,
      condition: cell.condition,
      seed: cell.seed,
      correct: scores.correct,
      accuracy: cell.metrics.accuracy,
    });
    raw.push(pairedComparison('run-vs-run', side(cellA, scoresA), side(cellB, scoresB), level));
    bootstraps.push(
      options.bootstrap === false
        ? null
        : pairedBootstrap(scoresA, scoresB, [cellA.key, cellB.key], level, bootstrapResamples),
    );
  }
  if (raw.length === 0) {
    throw new TempestInputError(
      `${a.label} and ${b.label} share no (model, condition, seed) cells to compare; name the models as PATH:MODEL`,
      'NothingToCompare',
    );
  }
  return correctComparisons(raw, { alpha, correction, minimumEffect }).map((comparison, index) => ({
    ...comparison,
    bootstrap: bootstraps[index],
  }));
}
