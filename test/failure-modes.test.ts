import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipAnalysis, GALLERY_SELECTION_RULE, mostConfusedPairs } from '../core/analysis/failure-modes';
import { renderFlipGallery, renderFlipPair } from '../core/analysis/gallery';
import { loadMnist } from '../core/data/mnist';
import { TempestInputError } from '../core/errors';
import { sha256Hex } from '../core/hash';
import { accuracyOf } from '../core/metrics/accuracy';
import { confusionMatrix, topPredictions } from '../core/metrics/classification';
import { ModelRunner } from '../core/model/runner';
import { gaussianNoise } from '../core/perturb/image/gaussian-noise';
import { makeTensor, type Tensor } from '../core/tensor/tensor';
import { applyAtSeverity, imageContext } from './helpers/perturb';

describe('most-confused class pairs', () => {
  it('lists off-diagonal cells by count, ties by true then predicted class, with their share of errors', () => {
    //            predicted 0  1  2
    // true 0             [ 5, 2, 0 ]
    // true 1             [ 3, 4, 1 ]
    // true 2             [ 2, 0, 6 ]
    // Errors: 0->1: 2, 1->0: 3, 1->2: 1, 2->0: 2; total 8.
    // Order: 1->0 (3, 3/8), 0->1 (2, 2/8; true 0 before true 2), 2->0 (2, 2/8), 1->2 (1, 1/8).
    const confusion = { classes: 3, counts: Int32Array.from([5, 2, 0, 3, 4, 1, 2, 0, 6]), total: 23 };
    const all = mostConfusedPairs(confusion);
    expect(all.totalErrors).toBe(8);
    expect(
      all.pairs.map((pair) => [pair.trueClass, pair.predictedClass, pair.count, pair.shareOfErrors]),
    ).toEqual([
      [1, 0, 3, 3 / 8],
      [0, 1, 2, 2 / 8],
      [2, 0, 2, 2 / 8],
      [1, 2, 1, 1 / 8],
    ]);
    expect(
      mostConfusedPairs(confusion, 2).pairs.map((pair) => [pair.trueClass, pair.predictedClass]),
    ).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(mostConfusedPairs(confusion, 0).pairs).toEqual([]);
  });

  it('has nothing to list for a perfect condition', () => {
    const perfect = confusionMatrix(Float32Array.from([1, 0, 0, 1]), 2, Int32Array.from([0, 1]));
    expect(mostConfusedPairs(perfect)).toEqual({ totalErrors: 0, pairs: [] });
  });
});

describe('flip analysis between a clean and a perturbed cell', () => {
  // Seven samples, three classes, scores given as probabilities.
  //   i  label  clean scores           pred  ok   perturbed scores      pred  ok
  //   0  0      [1,     0,    0    ]   0     yes  [0.75, 0.25, 0   ]    0     yes
  //   1  1      [0.25,  0.5,  0.25 ]   1     yes  [0.25, 0.25, 0.5 ]    2     no   flip (clean conf 0.5)
  //   2  2      [0.125, 0,    0.875]   2     yes  [0.625, 0,   0.375]   0     no   flip (clean conf 0.875)
  //   3  0      [0.25,  0.75, 0    ]   1     no   [0.5,  0.25, 0.25]    0     yes  fix
  //   4  1      [0,     1,    0    ]   1     yes  [0,    1,    0   ]    1     yes
  //   5  2      [0.5,   0.25, 0.25 ]   0     no   [0.5,  0.5,  0   ]    0     no   (tie 0/1 -> 0)
  //   6  0      [0.875, 0.125, 0   ]   0     yes  [0.25, 0.75, 0   ]    1     no   flip (clean conf 0.875)
  // clean correct 5 (0,1,2,4,6), wrong 2 (3,5); flipped 3 -> flip rate 3/5; fixed 1 -> fix rate 1/2;
  // accuracy 5/7 -> 3/7, change (1 - 3)/7 = -2/7.
  // Gallery: clean confidence descending, ties by index: 2 (0.875), 6 (0.875), 1 (0.5).
  const labels = Int32Array.from([0, 1, 2, 0, 1, 2, 0]);
  const clean = Float32Array.from([
    1, 0, 0, 0.25, 0.5, 0.25, 0.125, 0, 0.875, 0.25, 0.75, 0, 0, 1, 0, 0.5, 0.25, 0.25, 0.875, 0.125, 0,
  ]);
  const perturbed = Float32Array.from([
    0.75, 0.25, 0, 0.25, 0.25, 0.5, 0.625, 0, 0.375, 0.5, 0.25, 0.25, 0, 1, 0, 0.5, 0.5, 0, 0.25, 0.75, 0,
  ]);

  it('counts flips and fixes and gives their rates and indices', () => {
    const analysis = flipAnalysis(clean, perturbed, 3, labels);
    expect(analysis.cleanCorrect).toBe(5);
    expect(analysis.cleanWrong).toBe(2);
    expect(analysis.flipped).toBe(3);
    expect(analysis.fixed).toBe(1);
    expect(analysis.flipRate).toBeCloseTo(3 / 5, 15);
    expect(analysis.fixRate).toBeCloseTo(1 / 2, 15);
    expect(analysis.accuracyChange).toBeCloseTo(-2 / 7, 15);
    expect([...analysis.flippedIndices]).toEqual([1, 2, 6]);
    expect([...analysis.fixedIndices]).toEqual([3]);
    expect([analysis.cleanScoreKind, analysis.perturbedScoreKind]).toEqual([
      'probabilities',
      'probabilities',
    ]);
    // The change is exactly the difference of the two accuracies.
    expect(analysis.accuracyChange).toBeCloseTo(
      accuracyOf(perturbed, 3, labels).accuracy - accuracyOf(clean, 3, labels).accuracy,
      15,
    );
  });

  it('chooses gallery examples by clean confidence descending, ties by index', () => {
    const analysis = flipAnalysis(clean, perturbed, 3, labels);
    expect(analysis.gallerySelection).toBe(GALLERY_SELECTION_RULE);
    expect(analysis.gallery).toEqual([
      {
        index: 2,
        label: 2,
        cleanPrediction: 2,
        perturbedPrediction: 0,
        cleanConfidence: 0.875,
        perturbedConfidence: 0.625,
      },
      {
        index: 6,
        label: 0,
        cleanPrediction: 0,
        perturbedPrediction: 1,
        cleanConfidence: 0.875,
        perturbedConfidence: 0.75,
      },
      {
        index: 1,
        label: 1,
        cleanPrediction: 1,
        perturbedPrediction: 2,
        cleanConfidence: 0.5,
        perturbedConfidence: 0.5,
      },
    ]);
    expect(
      flipAnalysis(clean, perturbed, 3, labels, { galleryLimit: 2 }).gallery.map((e) => e.index),
    ).toEqual([2, 6]);
    expect(flipAnalysis(clean, perturbed, 3, labels, { galleryLimit: 0 }).gallery).toEqual([]);
  });

  it('reports rates of an empty denominator as null', () => {
    // Everything right on clean: no fix rate; everything wrong on clean: no flip rate.
    const right = flipAnalysis(Float32Array.from([1, 0]), Float32Array.from([0, 1]), 2, Int32Array.from([0]));
    expect([right.flipRate, right.fixRate]).toEqual([1, null]);
    const wrong = flipAnalysis(Float32Array.from([0, 1]), Float32Array.from([0, 1]), 2, Int32Array.from([0]));
    expect([wrong.flipRate, wrong.fixRate]).toEqual([null, 0]);
  });

  it('refuses cells of different shapes', () => {
    const run = () => flipAnalysis(clean, perturbed.subarray(0, 18), 3, labels);
    expect(run).toThrow(TempestInputError);
    expect(run).toThrow(/clean scores have 21 values and perturbed scores 18/);
  });
});

/** Decoded RGBA pixel of a PNG. */
const pixelAt = (image: PNG, x: number, y: number) => [
  ...image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4),
];

const caption = (index: number) => ({
  index,
  label: 0,
  cleanPrediction: 0,
  perturbedPrediction: 1,
  cleanConfidence: 0.9,
  perturbedConfidence: 0.6,
});

describe('failure gallery PNGs', () => {
  // Two grey 4x4 images; sample 1 is drawn. Clean: pixel (row 0, col 0) = 0, (0, 1) = 1, (0, 2) = 0.5,
  // (0, 3) = 1.7 (clamps to 255); perturbed: (1, 1) = 0.2 -> round(51) = 51, (0, 0) = -0.3 (clamps to 0).
  const grey = (values: Record<number, number>) => {
    const tensor = makeTensor([2, 1, 4, 4]);
    for (const [pixel, value] of Object.entries(values)) tensor.data[16 + Number(pixel)] = value;
    return tensor;
  };
  const cleanGrey = grey({ 0: 0, 1: 1, 2: 0.5, 3: 1.7 });
  const perturbedGrey = grey({ 5: 0.2, 0: -0.3 });

  it('puts clean and perturbed side by side, scaled to at least 96 px with a 2 px separator', () => {
    // scale = ceil(96 / 4) = 24 -> 96 px high; width = 2 * 4 * 24 + 2 = 194; perturbed panel from x = 98.
    const [image] = renderFlipGallery(cleanGrey, perturbedGrey, [caption(1)]);
    expect([image.width, image.height, image.scale]).toEqual([194, 96, 24]);
    expect(image.caption).toEqual(caption(1));
    const decoded = PNG.sync.read(Buffer.from(image.png));
    expect([decoded.width, decoded.height]).toEqual([194, 96]);
    expect(pixelAt(decoded, 0, 0)).toEqual([0, 0, 0, 255]);
    expect(pixelAt(decoded, 24, 0)).toEqual([255, 255, 255, 255]);
    expect(pixelAt(decoded, 47, 23)).toEqual([255, 255, 255, 255]); // still source pixel (0, 1)
    expect(pixelAt(decoded, 48, 0)).toEqual([128, 128, 128, 255]); // 0.5 * 255 = 127.5 -> 128
    expect(pixelAt(decoded, 72, 23)).toEqual([255, 255, 255, 255]); // 1.7 clamps to 255
    expect(pixelAt(decoded, 96, 50)).toEqual([128, 128, 128, 255]); // separator
    expect(pixelAt(decoded, 97, 50)).toEqual([128, 128, 128, 255]);
    expect(pixelAt(decoded, 98, 0)).toEqual([0, 0, 0, 255]); // -0.3 clamps to 0
    expect(pixelAt(decoded, 98 + 24, 24)).toEqual([51, 51, 51, 255]); // perturbed (1, 1) = 0.2 -> 51
    expect(pixelAt(decoded, 98 + 24 + 23, 24 + 23)).toEqual([51, 51, 51, 255]);
    expect(pixelAt(decoded, 98 + 48, 24)).toEqual([0, 0, 0, 255]);
  });

  it('encodes the same pixels to the same bytes', () => {
    const first = renderFlipPair(cleanGrey, perturbedGrey, 1).png;
    const second = renderFlipPair(cleanGrey, perturbedGrey, 1).png;
    expect(first).toBeInstanceOf(Uint8Array);
    expect(sha256Hex(first)).toBe(sha256Hex(second));
    expect(sha256Hex(first)).not.toBe(sha256Hex(renderFlipPair(cleanGrey, perturbedGrey, 0).png));
  });

  it('renders RGB images in colour and honours the options', () => {
    // One 3x2x3 RGB image (H = 2, W = 3): pixel (0, 0) = (1, 0, 0.2), perturbed pixel (1, 2) = (0, 1, 0).
    const clean = makeTensor([1, 3, 2, 3]);
    clean.data[0] = 1; // R (0, 0)
    clean.data[2 * 3 * 2 + 0] = 0.2; // B (0, 0)
    const perturbed = makeTensor([1, 3, 2, 3]);
    perturbed.data[6 + 5] = 1; // G (1, 2)
    // minHeight 8 -> scale 4: 8 x (2 * 12 + 3) = 27 px wide; perturbed panel from x = 15.
    const pair = renderFlipPair(clean, perturbed, 0, {
      minHeight: 8,
      separatorWidth: 3,
      separatorValue: 255,
    });
    const decoded = PNG.sync.read(Buffer.from(pair.png));
    expect([decoded.width, decoded.height, pair.scale]).toEqual([27, 8, 4]);
    expect(pixelAt(decoded, 3, 3)).toEqual([255, 0, 51, 255]);
    expect(pixelAt(decoded, 13, 0)).toEqual([255, 255, 255, 255]);
    expect(pixelAt(decoded, 15 + 8, 4)).toEqual([0, 255, 0, 255]);
    expect(pixelAt(decoded, 26, 7)).toEqual([0, 255, 0, 255]);
  });

  it('refuses images it cannot pair or draw', () => {
    const bad = (run: () => unknown, message: RegExp) => {
      expect(run).toThrow(TempestInputError);
      expect(run).toThrow(message);
    };
    bad(
      () => renderFlipPair(cleanGrey, makeTensor([2, 1, 4, 5]), 0),
      /clean images are \[2, 1, 4, 4\] but perturbed/,
    );
    bad(
      () => renderFlipPair(makeTensor([1, 2, 4, 4]), makeTensor([1, 2, 4, 4]), 0),
      /1 \(grey\) or 3 \(RGB\)/,
    );
    bad(() => renderFlipPair(cleanGrey, perturbedGrey, 2), /gallery sample 2 is outside the 2 images/);
    bad(
      () => renderFlipPair(cleanGrey, perturbedGrey, 0, { separatorValue: 300 }),
      /separatorValue in \[0, 255\]/,
    );
  });
});

describe('on real data: the example CNN, clean vs gaussian_noise severity 5, 200 MNIST digits', () => {
  const runner = new ModelRunner({ intraOpThreads: 1, interOpThreads: 1 });
  const { inputs, labels } = loadMnist('test', 200);
  const noisy: Tensor = applyAtSeverity(gaussianNoise, inputs, 5, imageContext(11));
  let cleanScores: Float32Array;
  let noisyScores: Float32Array;
  let classes: number;

  beforeAll(async () => {
    const bytes = readFileSync(join(__dirname, '..', 'examples', 'models', 'mnist-cnn.onnx'));
    const model = await runner.load(sha256Hex(bytes), async () => bytes);
    ({ values: cleanScores, classes } = await runner.predict(model, inputs, 100));
    noisyScores = (await runner.predict(model, noisy, 100)).values;
  });
  afterAll(() => runner.close());

  it('gives flips consistent with the per-sample predictions and a gallery of them', () => {
    const analysis = flipAnalysis(cleanScores, noisyScores, classes, labels, { galleryLimit: 4 });
    // Severity-5 noise flips some digits (18 of 195 correct ones with this seed), so the checks below bite.
    expect(analysis.flipped).toBeGreaterThan(4);
    expect(analysis.gallery).toHaveLength(4);
    const before = topPredictions(cleanScores, classes);
    const after = topPredictions(noisyScores, classes);
    const expectedFlips = [...labels.keys()].filter(
      (i) => before.predictions[i] === labels[i] && after.predictions[i] !== labels[i],
    );
    expect([...analysis.flippedIndices]).toEqual(expectedFlips);
    expect(analysis.cleanCorrect).toBe(accuracyOf(cleanScores, classes, labels).correct);
    expect(analysis.flipRate!).toBeGreaterThanOrEqual(0);
    expect(analysis.flipRate!).toBeLessThanOrEqual(1);
    expect(analysis.accuracyChange!).toBeCloseTo(
      accuracyOf(noisyScores, classes, labels).accuracy - accuracyOf(cleanScores, classes, labels).accuracy,
      12,
    );
    const shown = analysis.gallery.map((example) => example.cleanConfidence);
    for (let i = 1; i < shown.length; i++) expect(shown[i]).toBeLessThanOrEqual(shown[i - 1]);

    // The most-confused pairs of the noisy condition account for a share of its errors.
    const pairs = mostConfusedPairs(confusionMatrix(noisyScores, classes, labels), 5);
    expect(pairs.totalErrors).toBe(200 - accuracyOf(noisyScores, classes, labels).correct);
    for (let i = 1; i < pairs.pairs.length; i++)
      expect(pairs.pairs[i].count).toBeLessThanOrEqual(pairs.pairs[i - 1].count);

    // 28 px digits: scale ceil(96 / 28) = 4 -> 112 px high, 2 * 112 + 2 = 226 px wide.
    const images = renderFlipGallery(inputs, noisy, analysis.gallery);
    expect(images).toHaveLength(analysis.gallery.length);
    for (const image of images) {
      const decoded = PNG.sync.read(Buffer.from(image.png));
      expect([decoded.width, decoded.height]).toEqual([226, 112]);
    }
  });
});
