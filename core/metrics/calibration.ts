import { TempestInputError } from '../errors';
import {
  checkIntegerParam,
  checkScores,
  correctnessOf,
  PROBABILITY_SUM_TOLERANCE,
  rowProbabilitiesInto,
  topPredictions,
  type ScoreKind,
} from './classification';

/**
 * Calibration: does a model that says "90 % sure" turn out right 90 % of the time? Robustness
 * benchmarks need this beside accuracy because corruptions tend to keep confidence high while
 * accuracy falls (Ovadia et al. 2019, "Can you trust your model's uncertainty?").
 *
 * Top-label definitions (Guo et al. 2017, "On Calibration of Modern Neural Networks", section 2):
 * confidence = the maximum class probability, correct = (argmax == label), argmax ties to the
 * lowest class as everywhere in Tempest. Scores are logits unless every row is already a
 * probability distribution (see `detectScoreKind`); which was assumed is reported.
 */

/** Default number of bins: Guo et al. 2017 and torchmetrics' `n_bins=15`. */
export const DEFAULT_CALIBRATION_BINS = 15;

/**
 * Probabilities are clamped to at least this before the log in NLL, so a confidently wrong
 * sample (p_true = 0 given, or below 1e-308 after softmax underflow) adds at most
 * -ln(1e-12) ~= 27.63 nats instead of making the mean infinite.
 */
export const NLL_PROBABILITY_FLOOR = 1e-12;

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  /**
   * The bin's range: for equal-width bins the edges, confidences in (lower, upper] (the first bin
   * also takes 0); for equal-mass bins the smallest and largest confidence in the bin.
   */
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean confidence of the bin's samples; null for an empty bin. */
  readonly meanConfidence: number | null;
  /** Fraction of the bin's samples that are correct; null for an empty bin. */
  readonly accuracy: number | null;
}

export interface BinnedCalibration {
  /** sum over bins of (n_bin / N) * |acc_bin - conf_bin|; null when there are no samples. */
  readonly ece: number | null;
  /** max over non-empty bins of |acc_bin - conf_bin|; null when there are no samples. */
  readonly mce: number | null;
  readonly bins: readonly ReliabilityBin[];
}

export interface CalibrationReport {
  readonly scoreKind: ScoreKind;
  readonly samples: number;
  /** Number of bins M used by both binnings. */
  readonly binCount: number;
  /** Equal-width expected calibration error (Guo et al. 2017 eq. 3; torchmetrics, norm 'l1'). */
  readonly ece: number | null;
  /** Maximum calibration error over the equal-width bins (Guo et al. 2017 eq. 5; torchmetrics, norm 'max'). */
  readonly mce: number | null;
  /** ECE over equal-mass bins (see `Binning`). */
  readonly adaptiveEce: number | null;
  /**
   * Multi-class Brier score in Brier's (1950) original normalization: the mean over samples of
   * sum over classes (p_c - y_c)^2 with y one-hot; range [0, 2], not divided by C.
   */
  readonly brier: number | null;
  /** Mean negative log-likelihood of the true class, natural log (nats), p clamped at NLL_PROBABILITY_FLOOR. */
  readonly nll: number | null;
  /** Samples whose true-class probability fell below the floor (their NLL term is capped). */
  readonly nllClampedSamples: number;
  /** Reliability diagram: the M equal-width bins, empty ones included. */
  readonly reliability: readonly ReliabilityBin[];
  /** The non-empty equal-mass bins. */
  readonly adaptiveReliability: readonly ReliabilityBin[];
}

/**
 * The equal-width bin (i/M, (i+1)/M] holding `confidence`, with 0 in the first bin and anything
 * above 1 (a probability row within tolerance of summing to 1) in the last. The confidence is
 * compared with the doubles i/M themselves, so its bin follows its order relative to the edges
 * even where confidence * M rounds onto or across an integer.
 */
function equalWidthBin(confidence: number, bins: number): number {
  let bin = Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
  while (bin > 0 && confidence <= bin / bins) bin--;
  while (bin < bins - 1 && confidence > (bin + 1) / bins) bin++;
  return bin;
}

/**
 * How samples are put into M bins.
 *
 * 'equal-width': bin i = (i/M, (i+1)/M], right-closed as in Guo et al. 2017 (B_m = ((m-1)/M, m/M])
 * and torchmetrics (`torch.bucketize` with right=False, i.e. boundaries[i-1] < x <= boundaries[i];
 * its older loop: conf > lower and conf <= upper). torchmetrics keeps its boundaries in float32,
 * so a confidence within float32 rounding of an edge may land one bin over there. All M bins are
 * reported, empty ones too.
 *
 * 'equal-mass' ("adaptive"): the scheme Nixon et al. 2019 ("Measuring Calibration in Deep
 * Learning") propose so that every bin holds the same number of samples instead of most landing
 * in the top bin; applied here to the top label with the ECE formula (the "AdaECE" of Mukhoti et
 * al. 2020), not to every class as Nixon's class-wise ACE. Samples are sorted by confidence (ties
 * by sample index, so the split is deterministic) and bin b takes sorted positions
 * [floor(b N / M), floor((b + 1) N / M)): sizes differ by at most one. With N < M some of those
 * ranges are empty; they are left out.
 */
export type Binning = 'equal-width' | 'equal-mass';

function equalWidthAssignment(confidences: Float64Array, bins: number): Int32Array {
  const assignment = new Int32Array(confidences.length);
  for (let index = 0; index < confidences.length; index++) {
    assignment[index] = equalWidthBin(confidences[index], bins);
  }
  return assignment;
}

function equalMassAssignment(confidences: Float64Array, bins: number): Int32Array {
  const samples = confidences.length;
  const order = new Int32Array(samples);
  for (let index = 0; index < samples; index++) order[index] = index;
  order.sort((a, b) => confidences[a] - confidences[b] || a - b);
  const assignment = new Int32Array(samples);
  for (let bin = 0; bin < bins; bin++) {
    const end = Math.floor(((bin + 1) * samples) / bins);
    for (let position = Math.floor((bin * samples) / bins); position < end; position++) {
      assignment[order[position]] = bin;
    }
  }
  return assignment;
}

/**
 * ECE = sum over bins of (n_bin / N) |acc_bin - conf_bin| and MCE = max over non-empty bins of
 * |acc_bin - conf_bin|, with the reliability diagram, for per-sample confidences and
 * correctness (1 right, 0 wrong). The two binnings share everything but the assignment of samples
 * to bins.
 */
export function binnedCalibration(
  confidences: Float64Array,
  correct: Uint8Array,
  binning: Binning,
  bins = DEFAULT_CALIBRATION_BINS,
): BinnedCalibration {
  checkIntegerParam('calibration bin count', bins, 1);
  if (confidences.length !== correct.length) {
    throw new TempestInputError(
      `${confidences.length} confidences but ${correct.length} correctness flags: they must be of the same samples`,
      'ShapeMismatch',
    );
  }
  const samples = confidences.length;
  for (let index = 0; index < samples; index++) {
    const confidence = confidences[index];
    if (!(confidence >= 0 && confidence <= 1 + PROBABILITY_SUM_TOLERANCE)) {
      throw new TempestInputError(
        `confidence ${confidence} of sample ${index} is not a probability`,
        'NonFiniteScores',
      );
    }
  }
  const assignment =
    binning === 'equal-width'
      ? equalWidthAssignment(confidences, bins)
      : equalMassAssignment(confidences, bins);
  const counts = new Float64Array(bins);
  const confidenceSums = new Float64Array(bins);
  const correctSums = new Float64Array(bins);
  const lowest = new Float64Array(bins).fill(Infinity);
  const highest = new Float64Array(bins).fill(-Infinity);
  for (let index = 0; index < samples; index++) {
    const bin = assignment[index];
    const confidence = confidences[index];
    counts[bin]++;
    confidenceSums[bin] += confidence;
    correctSums[bin] += correct[index];
    lowest[bin] = Math.min(lowest[bin], confidence);
    highest[bin] = Math.max(highest[bin], confidence);
  }
  const reliability: ReliabilityBin[] = [];
  let ece = 0;
  let mce = 0;
  for (let bin = 0; bin < bins; bin++) {
    const count = counts[bin];
    if (count === 0 && binning === 'equal-mass') continue;
    const accuracy = count === 0 ? null : correctSums[bin] / count;
    const meanConfidence = count === 0 ? null : confidenceSums[bin] / count;
    reliability.push({
      lower: binning === 'equal-width' ? bin / bins : lowest[bin],
      upper: binning === 'equal-width' ? (bin + 1) / bins : highest[bin],
      count,
      meanConfidence,
      accuracy,
    });
    if (count === 0) continue;
    const gap = Math.abs(accuracy! - meanConfidence!);
    ece += (count / samples) * gap;
    mce = Math.max(mce, gap);
  }
  return { ece: samples === 0 ? null : ece, mce: samples === 0 ? null : mce, bins: reliability };
}

/** ECE, adaptive ECE, MCE, Brier, NLL and the reliability diagrams of one cell's scores. */
export function calibrationReport(
  scores: Float32Array,
  classes: number,
  labels: Int32Array,
  /** kind: the model's declared score kind; absent, it is detected from the values. */
  options: { readonly bins?: number; readonly kind?: ScoreKind } = {},
): CalibrationReport {
  const bins = options.bins ?? DEFAULT_CALIBRATION_BINS;
  checkIntegerParam('calibration bin count', bins, 1);
  const samples = checkScores(scores, classes, labels);
  const { kind: scoreKind, predictions, confidences } = topPredictions(scores, classes, options.kind);
  const correct = correctnessOf(predictions, labels);

  const probabilities = new Float64Array(classes);
  let brierSum = 0;
  let nllSum = 0;
  let nllClampedSamples = 0;
  for (let row = 0; row < samples; row++) {
    rowProbabilitiesInto(scores, row, classes, scoreKind, probabilities);
    const truth = labels[row];
    for (let c = 0; c < classes; c++) {
      const difference = probabilities[c] - (c === truth ? 1 : 0);
      brierSum += difference * difference;
    }
    let trueProbability = probabilities[truth];
    if (trueProbability < NLL_PROBABILITY_FLOOR) {
      trueProbability = NLL_PROBABILITY_FLOOR;
      nllClampedSamples++;
    }
    nllSum -= Math.log(trueProbability);
  }

  const equalWidth = binnedCalibration(confidences, correct, 'equal-width', bins);
  const adaptive = binnedCalibration(confidences, correct, 'equal-mass', bins);
  return {
    scoreKind,
    samples,
    binCount: bins,
    ece: equalWidth.ece,
    mce: equalWidth.mce,
    adaptiveEce: adaptive.ece,
    brier: samples === 0 ? null : brierSum / samples,
    nll: samples === 0 ? null : nllSum / samples,
    nllClampedSamples,
    reliability: equalWidth.bins,
    adaptiveReliability: adaptive.bins,
  };
}
