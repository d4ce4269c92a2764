import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { runBenchmarkLocally } from '../client/local-run';
import type { BenchmarkResults } from '../core/results';
import { getJson } from '../core/store/json';
import { LocalArtifactStore } from '../core/store/local';
import { tempDir } from './helpers/cli';
import { exampleInput } from './helpers/temporal';

const SPEC = `name: evaluation
dataset: { source: builtin, name: mnist, split: test, samples: 500 }
perturbations:
  - { module: gaussian_noise, severities: [1, 5] }
seeds: [1, 2]
statistics: { correction: bh, minimumEffect: 0.02, galleryExamples: 3 }
`;

describe('run evaluation in results.json', () => {
  it('gives every cell an interval, calibration and subgroups, and corrects all paired comparisons together', async () => {
    const store = new LocalArtifactStore(join(await tempDir('evaluation'), 'store'));
    const outcome = await runBenchmarkLocally(await exampleInput(SPEC), store);
    const results = await getJson<BenchmarkResults>(store, outcome.results!.sha256);
    const evaluation = results.evaluation!;
    expect(evaluation).toMatchObject({ level: 0.95, alpha: 0.05, correction: 'bh', minimumEffect: 0.02 });

    // 2 models x (clean + 2 severities x 2 seeds) = 10 cells.
    expect(evaluation.cells).toHaveLength(10);
    for (const cell of evaluation.cells) {
      expect(cell.accuracy.lower).toBeLessThanOrEqual(cell.accuracy.estimate);
      expect(cell.accuracy.upper).toBeGreaterThanOrEqual(cell.accuracy.estimate);
      expect(cell.accuracy.estimate).toBe(results.cells[cell.index].metrics.accuracy);
      expect(cell.calibration.ece).toBeGreaterThanOrEqual(0);
      expect(cell.subgroups.source).toBe('label');
      expect(cell.subgroups.groups).toHaveLength(10);
      expect(cell.top5Accuracy).toBeGreaterThanOrEqual(cell.accuracy.estimate);
      expect(cell.calibration.eceInterval!.lower).toBeLessThanOrEqual(cell.calibration.eceInterval!.upper);
      expect(cell.perClass.map((entry) => entry.support).reduce((a, b) => a + b, 0)).toBe(500);
      expect(cell.confusion!.reduce((a, b) => a + b, 0)).toBe(500);
    }
    const noisy = evaluation.cells.find(
      (cell) => cell.model === 'mlp' && cell.condition === 'gaussian_noise/s5',
    )!;
    expect(noisy.versusClean?.flipRate).toBeGreaterThan(0);

    // 8 perturbed cells against clean, plus mlp vs cnn on each of the 5 (condition, seed) pairs.
    expect(evaluation.comparisons.filter((c) => c.kind === 'condition-vs-clean')).toHaveLength(8);
    expect(evaluation.comparisons.filter((c) => c.kind === 'model-vs-model')).toHaveLength(5);
    for (const comparison of evaluation.comparisons) {
      expect(comparison.adjustedP).toBeGreaterThanOrEqual(comparison.mcnemar.exactP);
      expect(comparison.difference.estimate).toBeCloseTo(comparison.b.accuracy - comparison.a.accuracy, 12);
      expect(comparison.difference.lower).toBeLessThanOrEqual(comparison.difference.estimate);
      expect(comparison.samplesForMinimumEffect!.n).toBeGreaterThan(0);
    }
    // Heavy noise costs the MLP about 20 points on MNIST: significant and beyond the 2-point threshold.
    const drop = evaluation.comparisons.find(
      (c) => c.kind === 'condition-vs-clean' && c.b.model === 'mlp' && c.b.condition === 'gaussian_noise/s5',
    )!;
    expect(drop.significant).toBe(true);
    expect(drop.verdict).toBe('relevant');

    expect(evaluation.replication.map((row) => row.seeds)).toEqual([2, 2, 2, 2]);

    // Failure gallery: PNGs in the store, clean and perturbed side by side.
    expect(evaluation.galleries.length).toBeGreaterThan(0);
    const example = evaluation.galleries[0].examples[0];
    const png = PNG.sync.read(Buffer.from(await store.getBlob(example.png)));
    expect(png.width).toBeGreaterThan(png.height);
  }, 120_000);
});
