import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBenchmarkInput } from '../cli/spec-file';
import { runBenchmarkLocally } from '../client/local-run';
import type { BenchmarkResults } from '../core/results';
import { getJson } from '../core/store/json';
import { LocalArtifactStore } from '../core/store/local';
import { CORRUPTION_SUITES } from '../spec';
import { REPO_ROOT, tempDir } from './helpers/cli';

describe('examples/mnist-corruptions.yaml', () => {
  it('runs all 19 corruptions x 5 severities on both models and reports accuracy, CE, mCE and relative mCE', async () => {
    const input = await readBenchmarkInput(join(REPO_ROOT, 'examples', 'mnist-corruptions.yaml'));
    const store = new LocalArtifactStore(join(await tempDir('corruptions'), 'store'));
    const outcome = await runBenchmarkLocally(input, store);
    expect(outcome.status).toBe('completed');
    expect(outcome.cells.total).toBe(2 * (1 + 19 * 5));

    const results = await getJson<BenchmarkResults>(store, outcome.results!.sha256);
    const report = results.corruptionError!;
    expect(report.baseline).toBe('mlp');
    expect(report.imagenetCBenchmarkSet).toBe(true);
    expect(report.mceCorruptions).toEqual(CORRUPTION_SUITES['imagenet-c']);
    const [mlp, cnn] = ['mlp', 'cnn'].map((id) => report.models.find((model) => model.model === id)!);
    // The baseline's CE is 1 by definition; the CNN's numbers are real measurements, so only
    // their sanity is asserted: defined, positive, and a curve per corruption over 5 severities.
    expect(mlp.mCE).toBeCloseTo(1, 12);
    expect(cnn.mCE).toBeGreaterThan(0);
    expect(cnn.relativeMCE).not.toBeNull();
    expect(cnn.corruptions.map((score) => score.corruption).sort()).toEqual(
      [...CORRUPTION_SUITES['imagenet-c-all']].sort(),
    );
    for (const score of cnn.corruptions)
      expect(score.curve.map((point) => point.severity)).toEqual([1, 2, 3, 4, 5]);
    // Heavy blur wrecks both MNIST models (28x28 images, ImageNet-sized kernels).
    const defocus = cnn.corruptions.find((score) => score.corruption === 'defocus_blur')!;
    expect(defocus.curve[4].accuracy).toBeLessThan(defocus.curve[0].accuracy);

    const markdown = new TextDecoder().decode(await store.getBlob(outcome.report!.sha256));
    expect(markdown).toContain('## Corruption robustness');
    expect(markdown).toMatch(/\| cnn \| \d+\.\d+% \| \d+\.\d+% \| \d\.\d{3} \| \d\.\d{3} \|/);
    for (const name of CORRUPTION_SUITES['imagenet-c-all']) expect(markdown).toContain(`| ${name} |`);
  }, 300_000);
});
