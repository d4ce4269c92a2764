import { TempestInputError } from '../errors';
import {
  checkIntegerParam,
  checkScores,
  topPredictions,
  type ConfusionMatrix,
  type ScoreKind,
} from '../metrics/classification';

/**
 * Failure modes: which mistakes a condition makes (confused class pairs) and which samples a
 * perturbation breaks or mends (flips), so a report can show *how* a model fails, not only how
 * often.
 */

export interface ConfusedPair {
  readonly trueClass: number;
  readonly predictedClass: number;
  readonly count: number;
  /** count / all errors of the condition. */
  readonly shareOfErrors: number;
}

export interface ConfusedPairs {
  /** Off-diagonal total: every misclassified sample. */
  readonly totalErrors: number;
  readonly pairs: readonly ConfusedPair[];
}

/**
 * The `limit` largest off-diagonal cells of a confusion matrix (true t predicted as p, t != p),
 * ordered by count descending, then true class, then predicted class ascending, so equal counts
 * always list in the same order. Pairs are directed: 4 -> 9 and 9 -> 4 are separate entries,
 * since the two errors usually have different causes. Empty cells are never listed.
 */
export function mostConfusedPairs(confusion: ConfusionMatrix, limit = 10): ConfusedPairs {
  checkIntegerParam('confused-pair limit', limit, 0);
  const { classes, counts } = confusion;
  const cells: { trueClass: number; predictedClass: number; count: number }[] = [];
  let totalErrors = 0;
  for (let trueClass = 0; trueClass < classes; trueClass++) {
    for (let predictedClass = 0; predictedClass < classes; predictedClass++) {
      const count = counts[trueClass * classes + predictedClass];
      if (trueClass === predictedClass || count === 0) continue;
      totalErrors += count;
      cells.push({ trueClass, predictedClass, count });
    }
  }
  // Cells were pushed in (true, predicted) order and Array.prototype.sort is stable.
  cells.sort((a, b) => b.count - a.count);
  return {
    totalErrors,
    pairs: cells.slice(0, limit).map((cell) => ({ ...cell, shareOfErrors: cell.count / totalErrors })),
  };
}

/** A sample whose prediction changed under perturbation; also the caption of its gallery image. */
export interface FlipExample {
  /** Position of the sample in the cell's sample order (the dataset order). */
  readonly index: number;
  readonly label: number;
  readonly cleanPrediction: number;
  readonly perturbedPrediction: number;
  /** Max class probability on the clean input. */
  readonly cleanConfidence: number;
  readonly perturbedConfidence: number;
}

export interface FlipAnalysis {
  readonly samples: number;
  readonly cleanCorrect: number;
  readonly cleanWrong: number;
  /** Clean-correct samples that the perturbation makes wrong. */
  readonly flipped: number;
  /** Clean-wrong samples that the perturbation makes right. */
  readonly fixed: number;
  /** flipped / cleanCorrect; null when nothing was correct (0/0). */
  readonly flipRate: number | null;
  /** fixed / cleanWrong; null when nothing was wrong (0/0). */
  readonly fixRate: number | null;
  /** (fixed - flipped) / samples: the perturbed minus the clean accuracy. */
  readonly accuracyChange: number | null;
  /** Indices of flipped samples, ascending. */
  readonly flippedIndices: Int32Array;
  /** Indices of fixed samples, ascending. */
  readonly fixedIndices: Int32Array;
  /** Up to `galleryLimit` flipped samples, chosen by GALLERY_SELECTION_RULE. */
  readonly gallery: readonly FlipExample[];
  readonly gallerySelection: string;
  readonly cleanScoreKind: ScoreKind;
  readonly perturbedScoreKind: ScoreKind;
}

export const DEFAULT_GALLERY_LIMIT = 16;

/**
 * The flips worth looking at first are the ones the model was surest about before the
 * perturbation: a confident, correct prediction broken by a small change is the failure a reader
 * needs to see, and a low-confidence flip says little. The index tie-break makes the choice a
 * function of the scores alone.
 */
export const GALLERY_SELECTION_RULE =
  'flipped samples by clean confidence descending, ties by index ascending';

/**
 * Flip analysis between the clean cell and a perturbed cell of the SAME model on the SAME samples
 * (row i of both score matrices is sample i). Predictions are argmax with ties to the lowest
 * class; confidences are max softmax probabilities, each matrix's score kind detected on its own.
 */
export function flipAnalysis(
  cleanScores: Float32Array,
  perturbedScores: Float32Array,
  classes: number,
  labels: Int32Array,
  options: { readonly galleryLimit?: number } = {},
): FlipAnalysis {
  const galleryLimit = options.galleryLimit ?? DEFAULT_GALLERY_LIMIT;
  checkIntegerParam('gallery limit', galleryLimit, 0);
  if (cleanScores.length !== perturbedScores.length) {
    throw new TempestInputError(
      `clean scores have ${cleanScores.length} values and perturbed scores ${perturbedScores.length}: ` +
        'flip analysis compares the same model on the same samples',
      'ShapeMismatch',
    );
  }
  const samples = checkScores(cleanScores, classes, labels);
  checkScores(perturbedScores, classes, labels);
  const clean = topPredictions(cleanScores, classes);
  const perturbed = topPredictions(perturbedScores, classes);

  let cleanCorrect = 0;
  const flippedList: number[] = [];
  const fixedList: number[] = [];
  for (let index = 0; index < samples; index++) {
    const wasRight = clean.predictions[index] === labels[index];
    const isRight = perturbed.predictions[index] === labels[index];
    if (wasRight) cleanCorrect++;
    if (wasRight && !isRight) flippedList.push(index);
    if (!wasRight && isRight) fixedList.push(index);
  }
  const flippedIndices = Int32Array.from(flippedList);
  const fixedIndices = Int32Array.from(fixedList);
  const flipped = flippedIndices.length;
  const fixed = fixedIndices.length;

  const chosen = flippedIndices
    .slice()
    .sort((a, b) => clean.confidences[b] - clean.confidences[a] || a - b)
    .subarray(0, galleryLimit);
  const gallery = Array.from(chosen, (index): FlipExample => ({
    index,
    label: labels[index],
    cleanPrediction: clean.predictions[index],
    perturbedPrediction: perturbed.predictions[index],
    cleanConfidence: clean.confidences[index],
    perturbedConfidence: perturbed.confidences[index],
  }));
  const cleanWrong = samples - cleanCorrect;
  return {
    samples,
    cleanCorrect,
    cleanWrong,
    flipped,
    fixed,
    flipRate: cleanCorrect === 0 ? null : flipped / cleanCorrect,
    fixRate: cleanWrong === 0 ? null : fixed / cleanWrong,
    accuracyChange: samples === 0 ? null : (fixed - flipped) / samples,
    flippedIndices,
    fixedIndices,
    gallery,
    gallerySelection: GALLERY_SELECTION_RULE,
    cleanScoreKind: clean.kind,
    perturbedScoreKind: perturbed.kind,
  };
}
