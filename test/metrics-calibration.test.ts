import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { TempestInputError } from '../core/errors';
import { sha256Hex } from '../core/hash';
import { accuracyOf } from '../core/metrics/accuracy';
import { binnedCalibration, calibrationReport, NLL_PROBABILITY_FLOOR } from '../core/metrics/calibration';
import { classificationReport, softmaxRows, topKAccuracy } from '../core/metrics/classification';
import { subgroupAccuracy } from '../core/metrics/subgroups';
import { ModelRunner } from '../core/model/runner';

/**
 * Four samples, three classes, given as probabilities (dyadic values, exact in float32):
 *   sample  probabilities           label  argmax  confidence  correct
 *   0       [0.875, 0.125, 0    ]   0      0       0.875       yes
 *   1       [0.75,  0.25,  0    ]   1      0       0.75        no
 *   2       [0.25,  0.625, 0.125]   1      1       0.625       yes
 *   3       [0.5,   0.25,  0.25 ]   2      0       0.5         no
 */
const probabilities = Float32Array.from([
  0.875, 0.125, 0, 0.75, 0.25, 0, 0.25, 0.625, 0.125, 0.5, 0.25, 0.25,
]);
const labels = Int32Array.from([0, 1, 1, 2]);

describe('expected and maximum calibration error (Guo et al. 2017; torchmetrics multiclass_calibration_error)', () => {
  it('computes ECE and MCE over 2 equal-width bins by hand, a confidence on an edge in the lower bin', () => {
    // Bins (0, 0.5] and (0.5, 1]; confidence 0.5 is on the edge and belongs to the first.
    // bin 1: sample 3         -> acc 0,   conf 0.5,                          |gap| = 0.5
    // bin 2: samples 0, 1, 2  -> acc 2/3, conf (0.875+0.75+0.625)/3 = 0.75,  |gap| = 1/12
    // ECE = 1/4 * 0.5 + 3/4 * 1/12 = 0.125 + 0.0625 = 0.1875;  MCE = max(0.5, 1/12) = 0.5
    const report = calibrationReport(probabilities, 3, labels, { bins: 2 });
    expect(report.scoreKind).toBe('probabilities');
    expect(report.ece).toBeCloseTo(0.1875, 15);
    expect(report.mce).toBeCloseTo(0.5, 15);
    expect(report.reliability).toEqual([
      { lower: 0, upper: 0.5, count: 1, meanConfidence: 0.5, accuracy: 0 },
      { lower: 0.5, upper: 1, count: 3, meanConfidence: 0.75, accuracy: 2 / 3 },
    ]);
  });

  it('computes ECE over the default 15 bins by hand', () => {
    // Bin i = (i/15, (i+1)/15]: 0.875*15 = 13.125 -> bin 13; 0.75*15 = 11.25 -> bin 11;
    // 0.625*15 = 9.375 -> bin 9; 0.5*15 = 7.5 -> bin 7. One sample per bin, so
    // ECE = 1/4 * (|1 - 0.875| + |0 - 0.75| + |1 - 0.625| + |0 - 0.5|) = 1/4 * 1.75 = 0.4375, MCE = 0.75.
    const report = calibrationReport(probabilities, 3, labels);
    expect(report.binCount).toBe(15);
    expect(report.ece).toBeCloseTo(0.4375, 15);
    expect(report.mce).toBeCloseTo(0.75, 15);
    expect(report.reliability).toHaveLength(15);
    expect(report.reliability.map((bin) => bin.count)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    expect(report.reliability[13].lower).toBe(13 / 15);
    expect(report.reliability[0].meanConfidence).toBeNull();
  });

  it('puts a confidence in the bin its value falls in even when confidence * M rounds onto an edge', () => {
    // 0.33333333333333337 is the double just above 1/3; times 3 it rounds to exactly 1, but it is
    // above the edge 1/3, so it belongs to bin (1/3, 2/3].
    const { bins } = binnedCalibration(
      Float64Array.from([0.33333333333333337, 1 / 3]),
      Uint8Array.from([1, 1]),
      'equal-width',
      3,
    );
    expect(bins.map((bin) => bin.count)).toEqual([1, 1, 0]);
  });

  it('is null without samples and refuses a bad bin count', () => {
    const empty = calibrationReport(new Float32Array(0), 3, new Int32Array(0));
    expect([empty.ece, empty.mce, empty.adaptiveEce, empty.brier, empty.nll]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(() => calibrationReport(probabilities, 3, labels, { bins: 0 })).toThrow(TempestInputError);
    expect(() => calibrationReport(probabilities, 3, labels, { bins: 0 })).toThrow(
      /calibration bin count must be an integer >= 1, got 0/,
    );
    expect(() => binnedCalibration(Float64Array.from([NaN]), new Uint8Array(1), 'equal-width')).toThrow(
      /confidence NaN of sample 0 is not a probability/,
    );
  });
});

describe('adaptive (equal-mass) ECE (Nixon et al. 2019)', () => {
  it('matches the hand computation on 2 equal-mass bins', () => {
    // Sorted by confidence: 0.5 (wrong), 0.625 (right) | 0.75 (wrong), 0.875 (right)
    // bin 1: acc 1/2, conf 0.5625 -> |gap| 0.0625;  bin 2: acc 1/2, conf 0.8125 -> |gap| 0.3125
    // ECE = 1/2 * 0.0625 + 1/2 * 0.3125 = 0.1875
    const report = calibrationReport(probabilities, 3, labels, { bins: 2 });
    expect(report.adaptiveEce).toBeCloseTo(0.1875, 15);
    expect(report.adaptiveReliability).toEqual([
      { lower: 0.5, upper: 0.625, count: 2, meanConfidence: 0.5625, accuracy: 0.5 },
      { lower: 0.75, upper: 0.875, count: 2, meanConfidence: 0.8125, accuracy: 0.5 },
    ]);
  });

  it('differs from equal-width ECE when errors of opposite sign share a wide bin', () => {
    // confidences 0.625 (right), 0.75 (wrong), 0.875 (right), 0.875 (right), M = 2:
    // equal width: all in (0.5, 1]: acc 3/4, conf 3.125/4 = 0.78125 -> ECE |0.75 - 0.78125| = 0.03125
    // equal mass: {0.625 R, 0.75 W}: acc 1/2, conf 0.6875 -> gap 0.1875
    //             {0.875 R, 0.875 R}: acc 1, conf 0.875 -> gap 0.125
    //             ECE = 1/2 * 0.1875 + 1/2 * 0.125 = 0.15625
    const confidences = Float64Array.from([0.625, 0.75, 0.875, 0.875]);
    const correct = Uint8Array.from([1, 0, 1, 1]);
    expect(binnedCalibration(confidences, correct, 'equal-width', 2).ece).toBeCloseTo(0.03125, 15);
    expect(binnedCalibration(confidences, correct, 'equal-mass', 2).ece).toBeCloseTo(0.15625, 15);
  });

  it('splits into bins whose sizes differ by at most one and skips empty ones when N < M', () => {
    // N = 5, M = 3: positions [0, 1), [1, 3), [3, 5) -> sizes 1, 2, 2.
    const five = binnedCalibration(
      Float64Array.from([0.9, 0.5, 0.7, 0.6, 0.8]),
      new Uint8Array(5),
      'equal-mass',
      3,
    );
    expect(five.bins.map((bin) => [bin.count, bin.lower, bin.upper])).toEqual([
      [1, 0.5, 0.5],
      [2, 0.6, 0.7],
      [2, 0.8, 0.9],
    ]);
    // N = 2, M = 15: only two non-empty bins.
    expect(
      binnedCalibration(Float64Array.from([0.9, 0.5]), Uint8Array.from([1, 0]), 'equal-mass').bins,
    ).toHaveLength(2);
  });
});

describe('Brier score and negative log-likelihood', () => {
  it('computes the multi-class Brier score (Brier 1950, sum over classes, not divided by C) by hand', () => {
    // sum_c (p_c - y_c)^2 per sample:
    //   0: (0.875-1)^2 + 0.125^2 + 0^2                  = 0.015625 + 0.015625            = 0.03125
    //   1: 0.75^2 + (0.25-1)^2 + 0^2                    = 0.5625 + 0.5625                = 1.125
    //   2: 0.25^2 + (0.625-1)^2 + 0.125^2               = 0.0625 + 0.140625 + 0.015625   = 0.21875
    //   3: 0.5^2 + 0.25^2 + (0.25-1)^2                  = 0.25 + 0.0625 + 0.5625         = 0.875
    // mean = 2.25 / 4 = 0.5625
    expect(calibrationReport(probabilities, 3, labels).brier).toBeCloseTo(0.5625, 15);
  });

  it('computes NLL as the mean of -ln p_true in nats', () => {
    // -(ln 0.875 + ln 0.25 + ln 0.625 + ln 0.25) / 4 = (0.1335314 + 1.3862944 + 0.4700036 + 1.3862944) / 4 = 0.8440309
    const report = calibrationReport(probabilities, 3, labels);
    expect(report.nll).toBeCloseTo(0.8440309360275098, 14);
    expect(report.nllClampedSamples).toBe(0);
  });

  it('clamps p_true at 1e-12 so one impossible label costs -ln(1e-12) = 27.631 nats, and counts it', () => {
    const report = calibrationReport(Float32Array.from([1, 0, 0]), 3, Int32Array.from([1]));
    expect(report.nll).toBeCloseTo(-Math.log(NLL_PROBABILITY_FLOOR), 12);
    expect(report.nll).toBeCloseTo(27.631021115928547, 12);
    expect(report.nllClampedSamples).toBe(1);
  });

  it('applies softmax to logits before every calibration number', () => {
    // Logits [ln 3, 0] and [0, ln 3], both labelled 0: softmax gives [0.75, 0.25] and [0.25, 0.75].
    //   confidences 0.75 (right) and 0.75 (wrong): one bin (11/15, 12/15], acc 0.5 -> ECE = |0.5 - 0.75| = 0.25
    //   Brier: (0.25^2 + 0.25^2 + 0.75^2 + 0.75^2) / 2 = (0.125 + 1.125) / 2 = 0.625
    //   NLL: (-ln 0.75 - ln 0.25) / 2 = (0.2876821 + 1.3862944) / 2 = 0.8369882
    // Softmax applied again to the probabilities [0.75, 0.25] would give confidence 0.6225 instead.
    const logits = Float32Array.from([Math.log(3), 0, 0, Math.log(3)]);
    const report = calibrationReport(logits, 2, Int32Array.from([0, 0]));
    expect(report.scoreKind).toBe('logits');
    expect(report.ece).toBeCloseTo(0.25, 7);
    expect(report.brier).toBeCloseTo(0.625, 7);
    expect(report.nll).toBeCloseTo(0.8369882167858358, 7);
    expect(report.reliability[11].meanConfidence).toBeCloseTo(0.75, 7);
  });
});

describe('on real data: the example CNN on 200 MNIST test digits', () => {
  const runner = new ModelRunner({ intraOpThreads: 1, interOpThreads: 1 });
  const data = loadMnist('test', 200);
  let scores: Float32Array;
  let classes: number;

  beforeAll(async () => {
    const bytes = readFileSync(join(__dirname, '..', 'examples', 'models', 'mnist-cnn.onnx'));
    const model = await runner.load(sha256Hex(bytes), async () => bytes);
    ({ values: scores, classes } = await runner.predict(model, data.inputs, 100));
  });
  afterAll(() => runner.close());

  it('gives calibration numbers in their ranges that agree with the accuracy', () => {
    const report = calibrationReport(scores, classes, data.labels);
    const accuracy = accuracyOf(scores, classes, data.labels);
    expect(report.samples).toBe(200);
    for (const value of [report.ece!, report.adaptiveEce!, report.mce!]) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
    expect(report.mce!).toBeGreaterThanOrEqual(report.ece!);
    expect(report.brier!).toBeGreaterThanOrEqual(0);
    expect(report.brier!).toBeLessThanOrEqual(2);
    expect(Number.isFinite(report.nll!) && report.nll! > 0).toBe(true);
    // The bins partition the samples, and their correct counts add up to accuracyOf's.
    for (const bins of [report.reliability, report.adaptiveReliability]) {
      expect(bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(200);
      const correct = bins.reduce((sum, bin) => sum + bin.count * (bin.accuracy ?? 0), 0);
      expect(correct).toBeCloseTo(accuracy.correct, 9);
    }
  });

  it('gives the same calibration from the logits and from their softmax stored as probabilities', () => {
    const fromLogits = calibrationReport(scores, classes, data.labels);
    const fromProbabilities = calibrationReport(
      Float32Array.from(softmaxRows(scores, classes)),
      classes,
      data.labels,
    );
    expect(fromLogits.scoreKind).toBe('logits');
    expect(fromProbabilities.scoreKind).toBe('probabilities');
    expect(fromProbabilities.ece!).toBeCloseTo(fromLogits.ece!, 5);
    expect(fromProbabilities.brier!).toBeCloseTo(fromLogits.brier!, 5);
    expect(fromProbabilities.nll!).toBeCloseTo(fromLogits.nll!, 4);
  });

  it('gives a classification report consistent with accuracyOf, top-k and subgroups', () => {
    const report = classificationReport(scores, classes, data.labels);
    const accuracy = accuracyOf(scores, classes, data.labels);
    expect(report.accuracy).toBe(accuracy.accuracy);
    expect(report.error! + report.accuracy!).toBeCloseTo(1, 15);
    const counts = [...report.confusion.counts];
    expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
    const trace = Array.from({ length: classes }, (_, c) => counts[c * classes + c]).reduce(
      (a, b) => a + b,
      0,
    );
    expect(trace).toBe(accuracy.correct);
    expect(report.perClass.reduce((sum, metrics) => sum + metrics.support, 0)).toBe(200);
    expect(report.weighted.recall).toBeCloseTo(accuracy.accuracy, 12);
    const topK = [1, 2, 3, 5, classes].map((k) => topKAccuracy(scores, classes, data.labels, k).accuracy!);
    expect(topK[0]).toBe(accuracy.accuracy);
    for (let i = 1; i < topK.length; i++) expect(topK[i]).toBeGreaterThanOrEqual(topK[i - 1]);
    expect(topK[topK.length - 1]).toBe(1);
    // With classes as groups, group accuracy is per-class recall.
    const groups = subgroupAccuracy(scores, classes, data.labels);
    groups.groups.forEach((group, c) => expect(group.accuracy).toBe(report.perClass[c].recall));
  });
});
