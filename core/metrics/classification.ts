import { TempestInputError } from '../errors';
import { argmaxRows } from '../tensor/tensor';

/**
 * Classification metrics over what Tempest stores per cell: `scores`, the model's first output
 * as a row-major float32 [N, C] matrix, and `labels`, N integer classes in [0, C).
 *
 * Every argmax here is `argmaxRows` (ties go to the lowest class), so top-1 accuracy, the
 * confusion matrix and `accuracyOf` always agree on which class a row predicts. Sums are
 * accumulated in float64.
 */

/**
 * What the scores were taken to be. Models usually emit logits, but some end in a Softmax node;
 * applying softmax to probabilities again would flatten them towards uniform and corrupt every
 * calibration number, so each matrix is classified once and the choice is reported.
 */
export type ScoreKind = 'logits' | 'probabilities';

/**
 * The score kind a model's declared output kind means for metrics: log-probabilities are read as
 * logits (their softmax is the probabilities). Undefined (not declared): detected from the values.
 */
export function scoreKindOfOutput(
  kind: 'logits' | 'probabilities' | 'log-probabilities' | undefined,
): ScoreKind | undefined {
  if (kind === undefined) return undefined;
  return kind === 'probabilities' ? 'probabilities' : 'logits';
}

/** How far a row's sum may be from 1 for the row to count as a probability distribution. */
export const PROBABILITY_SUM_TOLERANCE = 1e-4;

/** Throws a non-retryable error naming the parameter unless `value` is an integer >= `minimum`. */
export function checkIntegerParam(what: string, value: number, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new TempestInputError(
      `${what} must be an integer >= ${minimum}, got ${value}`,
      'InvalidMetricParams',
    );
  }
}

/** Number of rows of an [N, C] score matrix, after checking its length and values. */
export function checkScores(scores: Float32Array, classes: number, labels?: Int32Array): number {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new TempestInputError(`classes must be a positive integer, got ${classes}`, 'ShapeMismatch');
  }
  if (scores.length % classes !== 0) {
    throw new TempestInputError(
      `scores have ${scores.length} values, not a whole number of rows of ${classes} classes`,
      'ShapeMismatch',
    );
  }
  const rows = scores.length / classes;
  if (labels && labels.length !== rows) {
    throw new TempestInputError(
      `scores length ${scores.length} is not N x C = ${labels.length} x ${classes} (one row per label)`,
      'ShapeMismatch',
    );
  }
  for (let index = 0; index < scores.length; index++) {
    const value = scores[index];
    // -Infinity is a legitimate log-probability of an impossible class; NaN and +Infinity have no softmax.
    if (Number.isNaN(value) || value === Infinity) {
      throw new TempestInputError(
        `scores[${Math.floor(index / classes)}, ${index % classes}] is ${value}; scores must be numbers below +Infinity`,
        'NonFiniteScores',
      );
    }
  }
  if (labels) {
    for (let row = 0; row < rows; row++) {
      if (labels[row] < 0 || labels[row] >= classes) {
        throw new TempestInputError(
          `label ${labels[row]} of sample ${row} is outside the model's classes [0, ${classes})`,
          'LabelOutOfRange',
        );
      }
    }
  }
  return rows;
}

/**
 * 'probabilities' when every row is non-negative and sums to 1 within
 * PROBABILITY_SUM_TOLERANCE, else 'logits'. The whole matrix is judged at once, because a
 * model's output layer is one or the other: a lone logit row that happens to sum to 1 must not
 * be treated differently from its neighbours. An empty matrix counts as logits.
 */
export function detectScoreKind(scores: Float32Array, classes: number): ScoreKind {
  return scoreKindOfRows(scores, classes, checkScores(scores, classes));
}

function scoreKindOfRows(scores: Float32Array, classes: number, rows: number): ScoreKind {
  if (rows === 0) return 'logits';
  for (let row = 0; row < rows; row++) {
    const offset = row * classes;
    let sum = 0;
    for (let column = 0; column < classes; column++) {
      const value = scores[offset + column];
      if (value < 0) return 'logits';
      sum += value;
    }
    if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) return 'logits';
  }
  return 'probabilities';
}

const noSoftmax = (row: number) =>
  new TempestInputError(`scores row ${row} is all -Infinity: it has no softmax`, 'NonFiniteScores');

/**
 * Class probabilities of one row into `out[outOffset, outOffset + classes)`. Logits go through
 * softmax in the log-sum-exp form, p_c = exp(s_c - max) / sum_j exp(s_j - max): subtracting the
 * row maximum keeps every exponent <= 0, so nothing overflows and the largest term is exactly 1.
 * Probability rows are copied as given (not renormalized), so reported numbers are the model's own.
 */
export function rowProbabilitiesInto(
  scores: Float32Array,
  row: number,
  classes: number,
  kind: ScoreKind,
  out: Float64Array,
  outOffset = 0,
): void {
  const offset = row * classes;
  if (kind === 'probabilities') {
    for (let column = 0; column < classes; column++) out[outOffset + column] = scores[offset + column];
    return;
  }
  let max = -Infinity;
  for (let column = 0; column < classes; column++) max = Math.max(max, scores[offset + column]);
  if (max === -Infinity) {
    throw noSoftmax(row);
  }
  let sum = 0;
  for (let column = 0; column < classes; column++) {
    const term = Math.exp(scores[offset + column] - max);
    out[outOffset + column] = term;
    sum += term;
  }
  for (let column = 0; column < classes; column++) out[outOffset + column] /= sum;
}

/** Row-wise softmax of an [N, C] logit matrix (always applied; see `probabilitiesOf` for detection). */
export function softmaxRows(scores: Float32Array, classes: number): Float64Array {
  return probabilityMatrix(scores, classes, checkScores(scores, classes), 'logits');
}

/** Class probabilities of every row, applying softmax only when the scores are not already probabilities. */
export function probabilitiesOf(
  scores: Float32Array,
  classes: number,
): { readonly kind: ScoreKind; readonly probabilities: Float64Array } {
  const rows = checkScores(scores, classes);
  const kind = scoreKindOfRows(scores, classes, rows);
  return { kind, probabilities: probabilityMatrix(scores, classes, rows, kind) };
}

function probabilityMatrix(
  scores: Float32Array,
  classes: number,
  rows: number,
  kind: ScoreKind,
): Float64Array {
  const probabilities = new Float64Array(scores.length);
  for (let row = 0; row < rows; row++) {
    rowProbabilitiesInto(scores, row, classes, kind, probabilities, row * classes);
  }
  return probabilities;
}

export interface TopPredictions {
  readonly kind: ScoreKind;
  /** argmax of each row, ties to the lowest class (as `argmaxRows`). */
  readonly predictions: Int32Array;
  /** Probability of the predicted class, the maximum class probability. */
  readonly confidences: Float64Array;
}

/**
 * The predicted class and its probability for every row. For logits the confidence is
 * 1 / sum_j exp(s_j - s_max), the softmax of the maximum without materializing the row.
 */
export function topPredictions(scores: Float32Array, classes: number, kind?: ScoreKind): TopPredictions {
  const rows = checkScores(scores, classes);
  const assumed = kind ?? scoreKindOfRows(scores, classes, rows);
  const predictions = argmaxRows(scores, rows, classes);
  const confidences = new Float64Array(rows);
  for (let row = 0; row < rows; row++) {
    const offset = row * classes;
    const best = scores[offset + predictions[row]];
    if (assumed === 'probabilities') {
      confidences[row] = best;
      continue;
    }
    if (best === -Infinity) {
      throw noSoftmax(row);
    }
    let sum = 0;
    for (let column = 0; column < classes; column++) sum += Math.exp(scores[offset + column] - best);
    confidences[row] = 1 / sum;
  }
  return { kind: assumed, predictions, confidences };
}

function checkSameSamples(predictions: Int32Array, labels: Int32Array): void {
  if (predictions.length !== labels.length) {
    throw new TempestInputError(
      `${predictions.length} predictions but ${labels.length} labels: they must be of the same samples`,
      'ShapeMismatch',
    );
  }
}

/** 1 where the prediction equals the label, else 0: the per-sample outcome that accuracies average. */
export function correctnessOf(predictions: Int32Array, labels: Int32Array): Uint8Array {
  checkSameSamples(predictions, labels);
  const correct = new Uint8Array(labels.length);
  for (let index = 0; index < labels.length; index++)
    correct[index] = predictions[index] === labels[index] ? 1 : 0;
  return correct;
}

export interface TopKAccuracy {
  readonly k: number;
  /** null for an empty set (0/0). */
  readonly accuracy: number | null;
  readonly correct: number;
  readonly total: number;
}

/**
 * Fraction of samples whose true class is among the k highest scores.
 *
 * Tie rule: the true class t ranks behind every class with a strictly higher score and behind
 * every class with an equal score and a lower index (the order `argmaxRows` uses), so t is in the
 * top k iff  #{j : s_j > s_t} + #{j < t : s_j = s_t}  <  k. Tied classes therefore never all
 * count as hits, top-1 equals `accuracyOf` exactly, and accuracy is non-decreasing in k and 1 at
 * k >= C. Ranks use the raw scores: softmax is monotone, so it cannot change them, but its
 * rounding could merge near-ties.
 */
export function topKAccuracy(
  scores: Float32Array,
  classes: number,
  labels: Int32Array,
  k: number,
): TopKAccuracy {
  const rows = checkScores(scores, classes, labels);
  checkIntegerParam('top-k accuracy k', k, 1);
  let correct = 0;
  for (let row = 0; row < rows; row++) {
    const offset = row * classes;
    const truth = labels[row];
    const trueScore = scores[offset + truth];
    let ahead = 0;
    for (let column = 0; column < classes && ahead < k; column++) {
      const score = scores[offset + column];
      if (score > trueScore || (score === trueScore && column < truth)) ahead++;
    }
    if (ahead < k) correct++;
  }
  return { k, accuracy: rows === 0 ? null : correct / rows, correct, total: rows };
}

/** Counts of (true class, predicted class) pairs. */
export interface ConfusionMatrix {
  readonly classes: number;
  /** Row-major [C, C]: counts[t * classes + p] = samples of true class t predicted as p. */
  readonly counts: Int32Array;
  readonly total: number;
}

/** Confusion matrix of argmax predictions (rows true, columns predicted). */
export function confusionMatrix(scores: Float32Array, classes: number, labels: Int32Array): ConfusionMatrix {
  const rows = checkScores(scores, classes, labels);
  return confusionFromPredictions(argmaxRows(scores, rows, classes), labels, classes);
}

export function confusionFromPredictions(
  predictions: Int32Array,
  labels: Int32Array,
  classes: number,
): ConfusionMatrix {
  checkSameSamples(predictions, labels);
  const counts = new Int32Array(classes * classes);
  for (let index = 0; index < labels.length; index++) {
    const truth = labels[index];
    const predicted = predictions[index];
    if (truth < 0 || truth >= classes || predicted < 0 || predicted >= classes) {
      throw new TempestInputError(
        `sample ${index}: label ${truth} or prediction ${predicted} is outside the classes [0, ${classes})`,
        'LabelOutOfRange',
      );
    }
    counts[truth * classes + predicted]++;
  }
  return { classes, counts, total: labels.length };
}

export interface ClassMetrics {
  readonly class: number;
  /** tp / (tp + fp); null when the class is never predicted (0/0). */
  readonly precision: number | null;
  /** tp / (tp + fn); null when the class never occurs (0/0). */
  readonly recall: number | null;
  /**
   * 2 tp / (2 tp + fp + fn), the harmonic mean of the two where both exist; null only when the
   * class neither occurs nor is predicted.
   */
  readonly f1: number | null;
  /** Samples whose true class this is. */
  readonly support: number;
  /** Samples predicted as this class. */
  readonly predicted: number;
}

export interface AveragedMetrics {
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
}

export interface ClassificationReport {
  readonly samples: number;
  readonly classes: number;
  /** null for an empty set. */
  readonly accuracy: number | null;
  /** Top-1 error, 1 - accuracy. */
  readonly error: number | null;
  readonly confusion: ConfusionMatrix;
  readonly perClass: readonly ClassMetrics[];
  /**
   * Unweighted mean over the classes that occur in the labels or the predictions (the classes
   * scikit-learn's `precision_recall_fscore_support` sees); a 0/0 counts as 0 in the mean, as
   * scikit-learn with `zero_division=0`, so a class that is never predicted pulls macro precision
   * down instead of silently dropping out. Classes that neither occur nor are predicted carry no
   * information and are left out.
   */
  readonly macro: AveragedMetrics;
  /** Mean weighted by support (0/0 counted as 0, as macro); classes with no support weigh 0. */
  readonly weighted: AveragedMetrics;
}

const ratio = (numerator: number, denominator: number): number | null =>
  denominator === 0 ? null : numerator / denominator;

/** Accuracy, error, confusion matrix, per-class precision/recall/F1/support and their averages. */
export function classificationReport(
  scores: Float32Array,
  classes: number,
  labels: Int32Array,
): ClassificationReport {
  return reportFromConfusion(confusionMatrix(scores, classes, labels));
}

export function reportFromConfusion(confusion: ConfusionMatrix): ClassificationReport {
  const { classes, counts, total } = confusion;
  const perClass: ClassMetrics[] = [];
  let correct = 0;
  for (let c = 0; c < classes; c++) {
    let support = 0;
    let predicted = 0;
    for (let other = 0; other < classes; other++) {
      support += counts[c * classes + other];
      predicted += counts[other * classes + c];
    }
    const truePositives = counts[c * classes + c];
    correct += truePositives;
    const falsePositives = predicted - truePositives;
    const falseNegatives = support - truePositives;
    perClass.push({
      class: c,
      precision: ratio(truePositives, predicted),
      recall: ratio(truePositives, support),
      f1: ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives),
      support,
      predicted,
    });
  }
  const present = perClass.filter((metrics) => metrics.support > 0 || metrics.predicted > 0);
  const average = (
    pick: (metrics: ClassMetrics) => number | null,
    weight: (metrics: ClassMetrics) => number,
  ) => {
    let weightSum = 0;
    let sum = 0;
    for (const metrics of present) {
      weightSum += weight(metrics);
      sum += weight(metrics) * (pick(metrics) ?? 0);
    }
    return ratio(sum, weightSum);
  };
  const averaged = (weight: (metrics: ClassMetrics) => number): AveragedMetrics => ({
    precision: average((metrics) => metrics.precision, weight),
    recall: average((metrics) => metrics.recall, weight),
    f1: average((metrics) => metrics.f1, weight),
  });
  return {
    samples: total,
    classes,
    accuracy: ratio(correct, total),
    error: ratio(total - correct, total),
    confusion,
    perClass,
    macro: averaged(() => 1),
    weighted: averaged((metrics) => metrics.support),
  };
}
