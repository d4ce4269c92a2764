import { describe, expect, it } from 'vitest';
import { TempestInputError } from '../core/errors';
import { accuracyOf } from '../core/metrics/accuracy';
import {
  classificationReport,
  confusionMatrix,
  detectScoreKind,
  probabilitiesOf,
  softmaxRows,
  topKAccuracy,
  topPredictions,
} from '../core/metrics/classification';
import {
  groupsFromLabels,
  subgroupAccuracy,
  subgroupAccuracyOf,
  subgroupShift,
} from '../core/metrics/subgroups';

/** Scores of one-hot rows: row i scores 1 for predictions[i] and 0 elsewhere. */
function oneHotScores(predictions: readonly number[], classes: number): Float32Array {
  const scores = new Float32Array(predictions.length * classes);
  predictions.forEach((predicted, row) => (scores[row * classes + predicted] = 1));
  return scores;
}

const expectInputError = (run: () => unknown, message: RegExp) => {
  expect(run).toThrow(TempestInputError);
  expect(run).toThrow(message);
};

describe('confusion matrix and per-class metrics (3 classes, 10 samples, by hand)', () => {
  const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
  const predicted = [0, 0, 0, 1, 1, 1, 1, 2, 2, 0];
  const scores = oneHotScores(predicted, 3);

  it('counts (true, predicted) pairs with rows true and columns predicted', () => {
    // true 0: predicted 0,0,0,1   -> [3, 1, 0]
    // true 1: predicted 1,1,1     -> [0, 3, 0]
    // true 2: predicted 2,2,0     -> [1, 0, 2]
    const confusion = confusionMatrix(scores, 3, labels);
    expect([...confusion.counts]).toEqual([3, 1, 0, 0, 3, 0, 1, 0, 2]);
    expect(confusion.total).toBe(10);
  });

  it('gives precision, recall, F1 and support per class and their macro and weighted means', () => {
    // Column sums (predicted): 4, 4, 2; row sums (support): 4, 3, 3; diagonal (tp): 3, 3, 2.
    // class 0: P = 3/4, R = 3/4, F1 = 2*3 / (2*3 + 1 + 1) = 3/4
    // class 1: P = 3/4, R = 3/3 = 1, F1 = 2*3 / (2*3 + 1 + 0) = 6/7
    // class 2: P = 2/2 = 1, R = 2/3, F1 = 2*2 / (2*2 + 0 + 1) = 4/5
    // accuracy = (3 + 3 + 2) / 10 = 0.8, error 0.2
    // macro P = (3/4 + 3/4 + 1) / 3 = 5/6; macro R = (3/4 + 1 + 2/3) / 3 = 29/36;
    // macro F1 = (3/4 + 6/7 + 4/5) / 3 = (105 + 120 + 112) / 420 = 337/420
    // weighted P = (4 * 3/4 + 3 * 3/4 + 3 * 1) / 10 = 0.825; weighted R = accuracy = 0.8;
    // weighted F1 = (4 * 3/4 + 3 * 6/7 + 3 * 4/5) / 10 = (3 + 18/7 + 12/5) / 10 = 279/350
    const report = classificationReport(scores, 3, labels);
    expect(report.accuracy).toBeCloseTo(0.8, 15);
    expect(report.error).toBeCloseTo(0.2, 15);
    const expected = [
      { precision: 3 / 4, recall: 3 / 4, f1: 3 / 4, support: 4, predicted: 4 },
      { precision: 3 / 4, recall: 1, f1: 6 / 7, support: 3, predicted: 4 },
      { precision: 1, recall: 2 / 3, f1: 4 / 5, support: 3, predicted: 2 },
    ];
    expected.forEach((metrics, c) => {
      const actual = report.perClass[c];
      expect(actual.class).toBe(c);
      expect(actual.precision).toBeCloseTo(metrics.precision, 15);
      expect(actual.recall).toBeCloseTo(metrics.recall, 15);
      expect(actual.f1).toBeCloseTo(metrics.f1, 15);
      expect(actual.support).toBe(metrics.support);
      expect(actual.predicted).toBe(metrics.predicted);
    });
    expect(report.macro.precision).toBeCloseTo(5 / 6, 15);
    expect(report.macro.recall).toBeCloseTo(29 / 36, 15);
    expect(report.macro.f1).toBeCloseTo(337 / 420, 15);
    expect(report.weighted.precision).toBeCloseTo(0.825, 15);
    expect(report.weighted.recall).toBeCloseTo(0.8, 15);
    expect(report.weighted.f1).toBeCloseTo(279 / 350, 15);
  });

  it('reports 0/0 as null, never NaN, and averages like scikit-learn with zero_division=0', () => {
    // 4 classes; labels [0, 1, 2, 2], predictions [0, 1, 1, 0]; class 3 neither occurs nor is predicted.
    // class 0: tp 1, predicted 2, support 1 -> P 1/2, R 1, F1 2/(2+1+0) = 2/3
    // class 1: same as class 0
    // class 2: tp 0, predicted 0, support 2 -> P 0/0 = null, R 0, F1 0/(0+0+2) = 0
    // class 3: everything 0/0 -> null, and left out of the averages
    // macro over classes 0-2 with null as 0: P = (1/2 + 1/2 + 0)/3 = 1/3, R = 2/3, F1 = 4/9
    // (sklearn precision_recall_fscore_support([0,1,2,2], [0,1,1,0], average='macro', zero_division=0)
    //  gives 0.333, 0.667, 0.444)
    const report = classificationReport(oneHotScores([0, 1, 1, 0], 4), 4, Int32Array.from([0, 1, 2, 2]));
    expect(report.perClass[2]).toEqual({
      class: 2,
      precision: null,
      recall: 0,
      f1: 0,
      support: 2,
      predicted: 0,
    });
    expect(report.perClass[3]).toEqual({
      class: 3,
      precision: null,
      recall: null,
      f1: null,
      support: 0,
      predicted: 0,
    });
    expect(report.macro.precision).toBeCloseTo(1 / 3, 15);
    expect(report.macro.recall).toBeCloseTo(2 / 3, 15);
    expect(report.macro.f1).toBeCloseTo(4 / 9, 15);
    expect(JSON.stringify(report)).not.toMatch(/NaN/);
  });

  it('gives null accuracy and averages for an empty set', () => {
    const report = classificationReport(new Float32Array(0), 3, new Int32Array(0));
    expect(report.accuracy).toBeNull();
    expect(report.error).toBeNull();
    expect(report.macro).toEqual({ precision: null, recall: null, f1: null });
  });
});

describe('top-k accuracy', () => {
  it('ranks a true class tied with another behind the lower index (the argmax tie rule)', () => {
    // Row 0: scores [2, 5, 5, 1], label 2: class 1 scores the same and has a lower index, so
    //        class 2 has rank 1 (0-based): not top-1, top-2.
    // Row 1: same scores, label 1: nothing is higher, no lower index ties -> rank 0: top-1.
    // Row 2: scores [3, 3, 3, 3], label 3: classes 0, 1, 2 tie and come first -> rank 3: only top-4.
    const scores = Float32Array.from([2, 5, 5, 1, 2, 5, 5, 1, 3, 3, 3, 3]);
    const labels = Int32Array.from([2, 1, 3]);
    const correctAt = (k: number) => topKAccuracy(scores, 4, labels, k).correct;
    expect([1, 2, 3, 4, 5].map(correctAt)).toEqual([1, 2, 2, 3, 3]);
    expect(topKAccuracy(scores, 4, labels, 2)).toEqual({ k: 2, accuracy: 2 / 3, correct: 2, total: 3 });
    // Top-1 is exactly accuracyOf, which uses argmaxRows.
    expect(topKAccuracy(scores, 4, labels, 1).accuracy).toBe(accuracyOf(scores, 4, labels).accuracy);
  });

  it('refuses k that is not an integer >= 1', () => {
    const scores = Float32Array.from([1, 2]);
    expectInputError(
      () => topKAccuracy(scores, 2, Int32Array.from([0]), 0),
      /top-k accuracy k must be an integer >= 1, got 0/,
    );
    expectInputError(
      () => topKAccuracy(scores, 2, Int32Array.from([0]), 1.5),
      /must be an integer >= 1, got 1.5/,
    );
  });
});

describe('softmax and score-kind detection', () => {
  it('computes softmax stably (log-sum-exp) and shift-invariantly', () => {
    // softmax([1, 2, 3]) = e^(i) / (e + e^2 + e^3) = [0.09003057, 0.24472847, 0.66524096]
    const expected = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
    const probabilities = softmaxRows(Float32Array.from([1, 2, 3, 1001, 1002, 1003]), 3);
    for (let c = 0; c < 3; c++) {
      expect(probabilities[c]).toBeCloseTo(expected[c], 14);
      expect(probabilities[3 + c]).toBeCloseTo(expected[c], 14);
    }
    // Naive exp(1000) overflows to Infinity; the max-shifted form gives exactly 1/2 and 1/2.
    expect([...softmaxRows(Float32Array.from([1000, 1000, -1000, 0]), 2)]).toEqual([0.5, 0.5, 0, 1]);
    // -Infinity is an impossible class (log 0), not an error.
    expect([...softmaxRows(Float32Array.from([-Infinity, 0]), 2)]).toEqual([0, 1]);
  });

  it('takes a matrix of non-negative rows summing to 1 (within 1e-4) as probabilities and leaves them alone', () => {
    // Row sums: 1, 1, 1.00005 (within 1e-4).
    const probabilities = Float32Array.from([0.2, 0.3, 0.5, 1, 0, 0, 0.2, 0.3, 0.50005]);
    expect(detectScoreKind(probabilities, 3)).toBe('probabilities');
    const { kind, probabilities: used } = probabilitiesOf(probabilities, 3);
    expect(kind).toBe('probabilities');
    expect([...used]).toEqual([...probabilities]);
    expect(topPredictions(probabilities, 3).confidences[0]).toBe(Math.fround(0.5));
    // A row summing to 1.1, or with a negative entry, makes the whole matrix logits.
    expect(detectScoreKind(Float32Array.from([0.2, 0.3, 0.5, 0.2, 0.3, 0.6]), 3)).toBe('logits');
    expect(detectScoreKind(Float32Array.from([0.2, 0.3, 0.5, -0.1, 0.6, 0.5]), 3)).toBe('logits');
    // Logits get softmax: confidence of [0, ln 3] is 3 / (1 + 3) = 0.75.
    const logits = Float32Array.from([0, Math.log(3)]);
    expect(topPredictions(logits, 2).kind).toBe('logits');
    expect(topPredictions(logits, 2).confidences[0]).toBeCloseTo(0.75, 7);
  });
});

describe('input checks', () => {
  it('says what is wrong with the scores or labels', () => {
    expectInputError(
      () => classificationReport(new Float32Array(7), 3, new Int32Array(2)),
      /7 values, not a whole number of rows of 3 classes/,
    );
    expectInputError(
      () => classificationReport(new Float32Array(6), 3, new Int32Array(3)),
      /scores length 6 is not N x C = 3 x 3/,
    );
    expectInputError(
      () => classificationReport(Float32Array.from([0, NaN]), 2, new Int32Array(1)),
      /scores\[0, 1\] is NaN/,
    );
    expectInputError(
      () => classificationReport(new Float32Array(4), 2, Int32Array.from([0, 2])),
      /label 2 of sample 1 is outside the model's classes \[0, 2\)/,
    );
    expectInputError(
      () => classificationReport(new Float32Array(4), 0, new Int32Array(0)),
      /positive integer/,
    );
  });
});

describe('subgroup accuracy', () => {
  // Groups a = samples 0-3, b = 4-5, c = 6-9, d = none.
  const groups = { ids: Int32Array.from([0, 0, 0, 0, 1, 1, 2, 2, 2, 2]), names: ['a', 'b', 'c', 'd'] };

  it('gives per-group accuracy with counts, the worst group and the disparity', () => {
    // correct flags [1,1,1,0 | 1,0 | 1,1,1,1]: a = 3/4, b = 1/2, c = 4/4, d empty.
    // worst = b (0.5), best = c (1), disparity = 1 - 0.5 = 0.5.
    const report = subgroupAccuracyOf(Uint8Array.from([1, 1, 1, 0, 1, 0, 1, 1, 1, 1]), groups);
    expect(report.groups.map((group) => [group.name, group.count, group.correct, group.accuracy])).toEqual([
      ['a', 4, 3, 0.75],
      ['b', 2, 1, 0.5],
      ['c', 4, 4, 1],
      ['d', 0, 0, null],
    ]);
    expect(report.worstGroup?.name).toBe('b');
    expect(report.bestGroup?.name).toBe('c');
    expect(report.worstGroupAccuracy).toBe(0.5);
    expect(report.disparity).toBe(0.5);
  });

  it('breaks ties for the worst group by the lowest id', () => {
    // a = 1/2, b = 1/2: both worst, a has the lower id.
    const report = subgroupAccuracyOf(Uint8Array.from([1, 0, 0, 1]), {
      ids: Int32Array.from([0, 0, 1, 1]),
      names: ['a', 'b'],
    });
    expect(report.worstGroup?.name).toBe('a');
    expect(report.disparity).toBe(0);
  });

  it('uses each class as a group when there is no group column (worst group = worst class recall)', () => {
    // The 3-class example above: recalls 3/4, 1, 2/3 -> worst "class 2" = 2/3, disparity 1 - 2/3 = 1/3.
    const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    const scores = oneHotScores([0, 0, 0, 1, 1, 1, 1, 2, 2, 0], 3);
    const report = subgroupAccuracy(scores, 3, labels);
    expect(report.groups.map((group) => group.accuracy)).toEqual([3 / 4, 1, 2 / 3]);
    expect(report.worstGroup?.name).toBe('class 2');
    expect(report.disparity).toBeCloseTo(1 / 3, 15);
    expect(groupsFromLabels(labels, 3, ['zero', 'one', 'two']).names).toEqual(['zero', 'one', 'two']);
  });

  it('measures how a perturbation moves each group, the worst group and the disparity', () => {
    // clean     a = 3/4, b = 1/2, c = 1  -> worst b 0.5, disparity 0.5
    // perturbed a = 0/4, b = 1/2, c = 1  -> worst a 0,   disparity 1
    // changes: a -0.75, b 0, c 0; worst-group -0.5; disparity +0.5; the worst group moves b -> a.
    const clean = subgroupAccuracyOf(Uint8Array.from([1, 1, 1, 0, 1, 0, 1, 1, 1, 1]), groups);
    const perturbed = subgroupAccuracyOf(Uint8Array.from([0, 0, 0, 0, 1, 0, 1, 1, 1, 1]), groups);
    const shift = subgroupShift(clean, perturbed);
    expect(shift.groups.map((group) => [group.name, group.change])).toEqual([
      ['a', -0.75],
      ['b', 0],
      ['c', 0],
      ['d', null],
    ]);
    expect(shift.worstGroupAccuracy).toEqual({ clean: 0.5, perturbed: 0, change: -0.5 });
    expect(shift.disparity).toEqual({ clean: 0.5, perturbed: 1, change: 0.5 });
    expect([shift.worstGroupClean, shift.worstGroupPerturbed]).toEqual(['b', 'a']);
  });

  it('refuses group columns of the wrong length or ids without a name, and shifts over other samples', () => {
    expectInputError(() => subgroupAccuracyOf(new Uint8Array(3), groups), /10 group ids for 3 samples/);
    expectInputError(
      () => subgroupAccuracyOf(new Uint8Array(2), { ids: Int32Array.from([0, 5]), names: ['a'] }),
      /sample 1 has group id 5, outside the 1 named groups/,
    );
    const other = subgroupAccuracyOf(new Uint8Array(2), {
      ids: Int32Array.from([0, 0]),
      names: ['a', 'b', 'c', 'd'],
    });
    const clean = subgroupAccuracyOf(new Uint8Array(10), groups);
    expectInputError(() => subgroupShift(clean, other), /differ in group names or sizes/);
  });
});
