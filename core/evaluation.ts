/**
 * The evaluation of a finished run: every number with its uncertainty, every comparison paired,
 * corrected for multiplicity and judged for practical significance, failure modes and a gallery
 * of flipped examples. Pure computation over the cells' stored scores (no I/O): the aggregate
 * stage loads the scores and stores what this returns.
 */
import { TempestInputError } from './errors';
import type { StatisticsSpecV1 } from '../spec';
import {
  flipAnalysis,
  mostConfusedPairs,
  type ConfusedPair,
  type FlipExample,
} from './analysis/failure-modes';
import { renderFlipPair } from './analysis/gallery';
import { binnedCalibration, calibrationReport, type ReliabilityBin } from './metrics/calibration';
import {
  classificationReport,
  correctnessOf,
  topKAccuracy,
  topPredictions,
  type ScoreKind,
} from './metrics/classification';
import { groupsFromLabels, subgroupAccuracyOf, subgroupShift, type Groups } from './metrics/subgroups';
import type { FeatureInfo } from './data/dataset';
import type { DatasetProfile } from './data/profile';
import type { ModuleCatalog } from './perturb/catalog';
import type { PlannedCell } from './plan';
import { batchTransform } from './cell';
import {
  benjaminiHochbergAdjust,
  classifyPractical,
  cohensH,
  holmAdjust,
  mcnemarTest,
  pairedRiskDifference,
  pairedTable,
  bcaInterval,
  powerMcNemar,
  replicateSummary,
  sampleSizeMcNemar,
  sampleSizeTwoProportions,
  wilsonInterval,
  type IndexStatistic,
  type PracticalVerdict,
} from './stats';
import { makeTensor, sampleSize, sliceSamples, type LabeledData, type Tensor } from './tensor/tensor';

export interface Interval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
}

export interface CellEvaluation {
  readonly index: number;
  readonly model: string;
  readonly condition: string;
  readonly seed: number | null;
  readonly samples: number;
  /** Top-1 accuracy with its Wilson score interval. */
  readonly accuracy: Interval;
  readonly top5Accuracy: number | null;
  readonly macroF1: number | null;
  readonly perClass: readonly {
    readonly class: number;
    readonly precision: number | null;
    readonly recall: number | null;
    readonly f1: number | null;
    readonly support: number;
  }[];
  /** Confusion counts [true x predicted], row-major; omitted above 20 classes. */
  readonly confusion: readonly number[] | null;
  readonly calibration: {
    readonly ece: number | null;
    /** Seeded BCa bootstrap interval of the ECE (resamples from the spec). */
    readonly eceInterval: { readonly lower: number; readonly upper: number; readonly method: string } | null;
    readonly adaptiveEce: number | null;
    readonly mce: number | null;
    readonly brier: number | null;
    readonly nll: number | null;
    readonly scoreKind: string;
    readonly reliability: readonly ReliabilityBin[];
  };
  readonly subgroups: {
    readonly source: string;
    readonly worstGroup: string | null;
    readonly worstGroupAccuracy: number | null;
    readonly disparity: number | null;
    readonly groups: readonly {
      readonly name: string;
      readonly count: number;
      readonly accuracy: number | null;
    }[];
  };
  readonly confusedPairs: readonly ConfusedPair[];
  /** For a perturbed cell: what the perturbation did relative to the same model's clean cell. */
  readonly versusClean?: {
    readonly flipRate: number | null;
    readonly fixRate: number | null;
    readonly worstGroupAccuracyChange: number | null;
    readonly disparityChange: number | null;
  };
}

/** A paired comparison of two cells on the same samples: B minus A. */
export interface Comparison {
  readonly kind: 'condition-vs-clean' | 'model-vs-model' | 'run-vs-run';
  readonly a: {
    readonly model: string;
    readonly condition: string;
    readonly seed: number | null;
    readonly accuracy: number;
  };
  readonly b: {
    readonly model: string;
    readonly condition: string;
    readonly seed: number | null;
    readonly accuracy: number;
  };
  readonly samples: number;
  /** Accuracy of B minus accuracy of A, with Newcombe's paired score interval. */
  readonly difference: Interval;
  readonly cohensH: number;
  readonly mcnemar: {
    readonly aOnlyCorrect: number;
    readonly bOnlyCorrect: number;
    readonly exactP: number;
    readonly midP: number;
  };
  /** The exact McNemar p-value adjusted across every comparison of the run. */
  readonly adjustedP: number;
  readonly significant: boolean;
  /** Power of the exact test to detect the observed discordance at this sample size (normal approximation). */
  readonly power: number | null;
  /**
   * Samples needed to detect the minimum relevant effect with 80% power at the run's alpha: paired
   * (Connor 1987) at the observed rate of disagreement when it exceeds the effect, else unpaired (Fleiss).
   */
  readonly samplesForMinimumEffect: { readonly n: number; readonly method: string } | null;
  readonly verdict: PracticalVerdict;
}

export interface ReplicationSummary {
  readonly model: string;
  readonly condition: string;
  readonly seeds: number;
  readonly mean: number;
  readonly sd: number | null;
  readonly interval: { readonly lower: number; readonly upper: number } | null;
}

export interface GalleryEntry {
  readonly model: string;
  readonly condition: string;
  readonly seed: number | null;
  readonly selection: string;
  readonly examples: readonly (FlipExample & { readonly png: Uint8Array })[];
}

export interface RunEvaluation {
  readonly level: number;
  readonly alpha: number;
  readonly correction: 'holm' | 'bh';
  readonly minimumEffect: number;
  readonly cells: readonly CellEvaluation[];
  readonly comparisons: readonly Comparison[];
  readonly replication: readonly ReplicationSummary[];
  readonly galleries: readonly GalleryEntry[];
}

export interface EvaluatedCell {
  readonly cell: PlannedCell;
  readonly scores: Float32Array;
  readonly classes: number;
  /** The model's declared score kind (models[i].outputKind); absent, calibration detects it. */
  readonly scoreKind?: ScoreKind;
}

interface ScoredCell extends EvaluatedCell {
  readonly correct: Uint8Array;
  readonly accuracy: number;
}

/** One side of a paired comparison: which cell, and which of the samples it got right. */
export interface ComparedSide {
  readonly model: string;
  readonly condition: string;
  readonly seed: number | null;
  readonly correct: Uint8Array;
  readonly accuracy: number;
}

export type UncorrectedComparison = Omit<
  Comparison,
  'adjustedP' | 'significant' | 'verdict' | 'samplesForMinimumEffect'
>;

/** Paired comparison of B against A on the same samples: McNemar, Newcombe's interval, Cohen's h, power. */
export function pairedComparison(
  kind: Comparison['kind'],
  a: ComparedSide,
  b: ComparedSide,
  level: number,
): UncorrectedComparison {
  const table = pairedTable(a.correct, b.correct);
  const test = mcnemarTest(table.b, table.c);
  // pairedRiskDifference estimates p(A) - p(B); comparisons report B - A, so the interval flips.
  const dropOfB = pairedRiskDifference(table, level);
  const n = table.n;
  return {
    kind,
    a: { model: a.model, condition: a.condition, seed: a.seed, accuracy: a.accuracy },
    b: { model: b.model, condition: b.condition, seed: b.seed, accuracy: b.accuracy },
    samples: n,
    difference: { estimate: -dropOfB.estimate, lower: -dropOfB.upper, upper: -dropOfB.lower },
    cohensH: cohensH(b.accuracy, a.accuracy),
    mcnemar: { aOnlyCorrect: table.b, bOnlyCorrect: table.c, exactP: test.exactP, midP: test.midP },
    power: table.b + table.c === 0 || table.b === table.c ? null : powerMcNemar(table.b / n, table.c / n, n),
  };
}

function samplesToDetect(
  comparison: UncorrectedComparison,
  delta: number,
  alpha: number,
): Comparison['samplesForMinimumEffect'] {
  if (delta <= 0) return null;
  const disagreement =
    (comparison.mcnemar.aOnlyCorrect + comparison.mcnemar.bOnlyCorrect) / comparison.samples;
  if (disagreement > delta) {
    const size = sampleSizeMcNemar((disagreement + delta) / 2, (disagreement - delta) / 2, { alpha });
    return { n: size.n, method: 'paired (Connor 1987)' };
  }
  const p = comparison.a.accuracy;
  const other = p - delta >= 0 ? p - delta : p + delta;
  if (p <= 0 || p >= 1 || other <= 0 || other >= 1) return null;
  return { n: sampleSizeTwoProportions(p, other, { alpha }).n, method: 'unpaired (Fleiss)' };
}

/** Adjust every comparison's p-value together and label each for significance and practical relevance. */
export function correctComparisons(
  raw: readonly UncorrectedComparison[],
  settings: Pick<StatisticsSpecV1, 'alpha' | 'correction' | 'minimumEffect'>,
): Comparison[] {
  if (raw.length === 0) return [];
  const pValues = raw.map((comparison) => comparison.mcnemar.exactP);
  const adjusted =
    settings.correction === 'holm'
      ? holmAdjust(pValues, settings.alpha)
      : benjaminiHochbergAdjust(pValues, settings.alpha);
  return raw.map((comparison, index) => ({
    ...comparison,
    samplesForMinimumEffect: samplesToDetect(comparison, settings.minimumEffect, settings.alpha),
    adjustedP: adjusted.adjusted[index],
    significant: adjusted.reject[index],
    verdict: classifyPractical(comparison.difference, adjusted.adjusted[index], {
      delta: settings.minimumEffect,
      alpha: settings.alpha,
    }).verdict,
  }));
}

const sideOf = (entry: ScoredCell): ComparedSide => ({
  model: entry.cell.modelId,
  condition: entry.cell.condition,
  seed: entry.cell.seed,
  correct: entry.correct,
  accuracy: entry.accuracy,
});

export interface EvaluationInput {
  readonly cells: readonly EvaluatedCell[];
  readonly data: LabeledData;
  readonly dataHash: string;
  readonly groups?: { readonly source: string; readonly ids: Int32Array };
  /** Names of the classes by label index (declared by the models or the data), for class subgroups. */
  readonly classNames?: readonly string[];
  readonly features?: readonly FeatureInfo[];
  readonly profile: () => DatasetProfile;
  readonly catalog: ModuleCatalog;
  readonly statistics: StatisticsSpecV1;
  /**
   * Awaited as work progresses (after each cell and gallery). The evaluation is CPU work: this is
   * where a worker yields to its event loop and heartbeats, so a long evaluation stays alive.
   */
  readonly onProgress?: () => Promise<void> | void;
}

/** Perturb just the chosen samples again (per-sample streams make them identical to the cell's). */
function samplesOf(cell: PlannedCell, indices: readonly number[], input: EvaluationInput): Tensor {
  const { data } = input;
  const transform = batchTransform({ cell, ...input });
  const per = sampleSize(data.inputs);
  const out = makeTensor([indices.length, ...data.inputs.dims.slice(1)]);
  indices.forEach((index, position) => {
    const sample = sliceSamples(data.inputs, index, index + 1);
    out.data.set((transform ? transform(sample, index) : sample).data, position * per);
  });
  return out;
}

/** Subgroups of the samples: the spec's group ids, or each class as a group. */
function groupsOf(input: EvaluationInput, classes: number): { groups: Groups; source: string } {
  if (!input.groups) {
    const names = input.classNames?.length === classes ? input.classNames : undefined;
    return { groups: groupsFromLabels(input.data.labels, classes, names), source: 'label' };
  }
  const { source, ids } = input.groups;
  const count = ids.reduce((max, id) => Math.max(max, id), 0) + 1;
  return { groups: { ids, names: Array.from({ length: count }, (_, id) => `${source}=${id}`) }, source };
}

/**
 * ECE (15 equal-width bins) of a resample of the samples, as a bootstrap statistic. The scratch
 * buffers are reused across resamples: BCa calls this thousands of times per cell.
 */
export function eceStatistic(
  scores: Float32Array,
  classes: number,
  correct: Uint8Array,
  kind?: ScoreKind,
): IndexStatistic {
  const { confidences } = topPredictions(scores, classes, kind);
  const chosenConfidences = new Float64Array(correct.length);
  const chosenCorrect = new Uint8Array(correct.length);
  return (indices: Int32Array): number => {
    const count = indices.length;
    for (let i = 0; i < count; i++) {
      chosenConfidences[i] = confidences[indices[i]];
      chosenCorrect[i] = correct[indices[i]];
    }
    const binned = binnedCalibration(
      chosenConfidences.subarray(0, count),
      chosenCorrect.subarray(0, count),
      'equal-width',
    );
    return binned.ece ?? 0;
  };
}

/** A grouped jackknife keeps BCa's acceleration cheap on large cells (Efron & Narasimhan 2020). */
export function jackknifeGroupsFor(samples: number): number {
  return Math.min(samples, 100);
}

/** ECE's seeded BCa interval, keyed by the cell so every run draws the same resamples. */
function eceInterval(
  entry: ScoredCell,
  labels: Int32Array,
  level: number,
  resamples: number,
): CellEvaluation['calibration']['eceInterval'] {
  if (labels.length < 2) return null;
  const interval = bcaInterval(
    labels.length,
    eceStatistic(entry.scores, entry.classes, entry.correct, entry.scoreKind),
    {
      resamples,
      level,
      seed: { ece: entry.cell.key },
      jackknifeGroups: jackknifeGroupsFor(labels.length),
    },
  );
  return { lower: interval.lower, upper: interval.upper, method: interval.method };
}

/** A score problem found while evaluating names the model and the condition it came from. */
function withCellContext<T>(entry: ScoredCell, evaluate: () => T): T {
  try {
    return evaluate();
  } catch (error) {
    if (!(error instanceof TempestInputError)) throw error;
    const { modelId, condition } = entry.cell;
    throw new TempestInputError(`model ${modelId}, cell ${condition}: ${error.message}`, error.kind);
  }
}

function evaluateCell(
  entry: ScoredCell,
  clean: ScoredCell | undefined,
  groups: Groups,
  groupSource: string,
  labels: Int32Array,
  level: number,
  resamples: number,
): CellEvaluation {
  const wilson = wilsonInterval(Math.round(entry.accuracy * labels.length), labels.length, level);
  const report = classificationReport(entry.scores, entry.classes, labels);
  const calibration = calibrationReport(entry.scores, entry.classes, labels, { kind: entry.scoreKind });
  const subgroups = subgroupAccuracyOf(entry.correct, groups);
  let versusClean: CellEvaluation['versusClean'];
  if (clean) {
    const flips = flipAnalysis(clean.scores, entry.scores, entry.classes, labels, { galleryLimit: 0 });
    const shift = subgroupShift(subgroupAccuracyOf(clean.correct, groups), subgroups);
    versusClean = {
      flipRate: flips.flipRate,
      fixRate: flips.fixRate,
      worstGroupAccuracyChange: shift.worstGroupAccuracy.change,
      disparityChange: shift.disparity.change,
    };
  }
  return {
    index: entry.cell.index,
    model: entry.cell.modelId,
    condition: entry.cell.condition,
    seed: entry.cell.seed,
    samples: labels.length,
    accuracy: { estimate: wilson.estimate, lower: wilson.lower, upper: wilson.upper },
    top5Accuracy: entry.classes > 5 ? topKAccuracy(entry.scores, entry.classes, labels, 5).accuracy : null,
    macroF1: report.macro.f1,
    perClass: report.perClass.map((entry) => ({
      class: entry.class,
      precision: entry.precision,
      recall: entry.recall,
      f1: entry.f1,
      support: entry.support,
    })),
    confusion: entry.classes <= 20 ? Array.from(report.confusion.counts) : null,
    calibration: {
      ece: calibration.ece,
      eceInterval: eceInterval(entry, labels, level, resamples),
      adaptiveEce: calibration.adaptiveEce,
      mce: calibration.mce,
      brier: calibration.brier,
      nll: calibration.nll,
      scoreKind: calibration.scoreKind,
      reliability: calibration.reliability,
    },
    subgroups: {
      source: groupSource,
      worstGroup: subgroups.worstGroup?.name ?? null,
      worstGroupAccuracy: subgroups.worstGroupAccuracy,
      disparity: subgroups.disparity,
      groups: subgroups.groups.map((group) => ({
        name: group.name,
        count: group.count,
        accuracy: group.accuracy,
      })),
    },
    confusedPairs: mostConfusedPairs(report.confusion, 5).pairs,
    versusClean,
  };
}

export async function evaluateRun(input: EvaluationInput): Promise<RunEvaluation> {
  const { data, statistics } = input;
  const { level, alpha, correction, minimumEffect } = statistics;
  const labels = data.labels;
  const scored: ScoredCell[] = input.cells.map((entry) => {
    const { predictions } = topPredictions(entry.scores, entry.classes);
    const correct = correctnessOf(predictions, labels);
    return { ...entry, correct, accuracy: correct.reduce((sum, value) => sum + value, 0) / labels.length };
  });
  const { groups, source } = groupsOf(input, scored[0]?.classes ?? 0);
  // Lookups by model, condition and seed go through maps: a 10,000-cell sweep made the linear
  // searches here quadratic (tens of seconds without yielding, past the heartbeat timeout).
  const keyOf = (modelId: string, condition: string, seed: number | null) =>
    `${modelId}\u0000${condition}\u0000${seed === null ? '' : seed}`;
  const cleanByModel = new Map<string, ScoredCell>();
  const bySeed = new Map<string, ScoredCell>();
  const groupsByModel = new Map<string, Map<string, ScoredCell[]>>();
  for (const entry of scored) {
    const { modelId, condition, seed } = entry.cell;
    if (entry.cell.transform.kind === 'clean' && !cleanByModel.has(modelId)) cleanByModel.set(modelId, entry);
    const key = keyOf(modelId, condition, seed);
    if (!bySeed.has(key)) bySeed.set(key, entry);
    const conditions = groupsByModel.get(modelId) ?? new Map<string, ScoredCell[]>();
    groupsByModel.set(modelId, conditions);
    const group = conditions.get(condition) ?? [];
    conditions.set(condition, group);
    group.push(entry);
  }
  const cleanFor = (entry: ScoredCell) =>
    entry.cell.transform.kind === 'clean' ? undefined : cleanByModel.get(entry.cell.modelId);
  // Let heartbeats and other tasks through every so often in the loops over all cells.
  const YIELD_EVERY = 256;
  const breathe = async (count: number) => {
    if (count % YIELD_EVERY === YIELD_EVERY - 1) await input.onProgress?.();
  };

  const cells: CellEvaluation[] = [];
  for (const entry of scored) {
    cells.push(
      withCellContext(entry, () =>
        evaluateCell(entry, cleanFor(entry), groups, source, labels, level, statistics.bootstrapResamples),
      ),
    );
    await input.onProgress?.();
  }

  // Every paired comparison of the run, corrected together.
  const raw: UncorrectedComparison[] = [];
  for (const [index, entry] of scored.entries()) {
    const clean = cleanFor(entry);
    if (clean) raw.push(pairedComparison('condition-vs-clean', sideOf(clean), sideOf(entry), level));
    await breathe(index);
  }
  const models = [...groupsByModel.keys()];
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 1; j < models.length; j++) {
      for (const [index, a] of scored.filter((entry) => entry.cell.modelId === models[i]).entries()) {
        const b = bySeed.get(keyOf(models[j], a.cell.condition, a.cell.seed));
        if (b) raw.push(pairedComparison('model-vs-model', sideOf(a), sideOf(b), level));
        await breathe(index);
      }
    }
  }
  const comparisons = correctComparisons(raw, { alpha, correction, minimumEffect });

  const replication: ReplicationSummary[] = [];
  for (const [model, conditions] of groupsByModel) {
    for (const [condition, group] of conditions) {
      if (group.length < 2) continue;
      const summary = replicateSummary(
        group.map((entry) => entry.accuracy),
        level,
      );
      replication.push({
        model,
        condition,
        seeds: group.length,
        mean: summary.mean,
        sd: summary.sd,
        interval: summary.interval && { lower: summary.interval.lower, upper: summary.interval.upper },
      });
    }
  }

  const galleries: GalleryEntry[] = [];
  if (statistics.galleryExamples > 0 && data.inputs.dims.length === 4) {
    const firstSeed = new Map<string, number | null>();
    for (const entry of scored) {
      const clean = cleanFor(entry);
      // Adversarial inputs are not kept (they are a function of the model's queries); no gallery.
      if (!clean || entry.cell.transform.kind === 'attack') continue;
      const group = `${entry.cell.modelId}\u0000${entry.cell.condition}`;
      if (firstSeed.has(group)) continue;
      firstSeed.set(group, entry.cell.seed);
      const flips = flipAnalysis(clean.scores, entry.scores, entry.classes, labels, {
        galleryLimit: statistics.galleryExamples,
      });
      if (flips.gallery.length === 0) continue;
      const indices = flips.gallery.map((example) => example.index);
      const cleanImages = samplesOf(clean.cell, indices, input);
      const perturbedImages = samplesOf(entry.cell, indices, input);
      await input.onProgress?.();
      galleries.push({
        model: entry.cell.modelId,
        condition: entry.cell.condition,
        seed: entry.cell.seed,
        selection: flips.gallerySelection,
        examples: flips.gallery.map((example, position) => ({
          ...example,
          png: renderFlipPair(cleanImages, perturbedImages, position).png,
        })),
      });
    }
  }

  return { level, alpha, correction, minimumEffect, cells, comparisons, replication, galleries };
}
