import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../core/data/dataset';
import { sha256Hex } from '../core/hash';
import { argmaxRows } from '../core/tensor/tensor';
import { readBenchmarkInput } from '../cli/spec-file';

const EXAMPLES = join(__dirname, '..', 'examples');

interface TrainingReport {
  readonly sha256: string;
  readonly classes: string[];
  readonly testSamples: number;
  readonly testAccuracy: number;
  readonly testPredictions: number[];
}

describe('example: torchvision mobilenet_v3_small (torch.onnx) on an image folder of JPEG photo crops', () => {
  it('loads the test folder as the training script did and the model agrees with its own test predictions', async () => {
    const { spec, baseDir } = await readBenchmarkInput(join(EXAMPLES, 'images-mobilenet.yaml'));
    const report = JSON.parse(
      await readFile(join(EXAMPLES, 'images', 'mobilenet-training.json'), 'utf8'),
    ) as TrainingReport;
    const modelBytes = await readFile(join(baseDir, spec.models[0].path));
    expect(sha256Hex(modelBytes)).toBe(report.sha256);

    const loaded = await loadDataset(spec.dataset, baseDir, spec.preprocessing);
    expect(loaded.classes).toEqual(report.classes);
    expect(loaded.data.inputs.dims).toEqual([report.testSamples, 3, 64, 64]);

    // Normalize here by hand, as the training script's torchvision transform did, and run the
    // export directly in onnxruntime: an independent check of data order, geometry and decoding.
    const { mean, std } = spec.preprocessing!;
    const plane = 64 * 64;
    const normalized = Float32Array.from(loaded.data.inputs.data, (value, index) => {
      const channel = Math.floor(index / plane) % 3;
      return (value - mean![channel]) / std![channel];
    });
    const session = await ort.InferenceSession.create(modelBytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    try {
      const output = await session.run({
        image: new ort.Tensor('float32', normalized, [report.testSamples, 3, 64, 64]),
      });
      const logits = output.logits.data as Float32Array;
      const predictions = argmaxRows(logits, report.testSamples, report.classes.length);
      const agree = report.testPredictions.filter((label, index) => predictions[index] === label).length;
      // sharp (libvips) and PIL decode JPEG and resize within 2 intensity levels of each other,
      // which can move a sample whose two best logits are nearly tied; all but a few must agree.
      expect(agree).toBeGreaterThanOrEqual(report.testSamples - 3);
      const correct = Array.from(predictions).filter(
        (label, index) => label === loaded.data.labels[index],
      ).length;
      expect(Math.abs(correct / report.testSamples - report.testAccuracy)).toBeLessThanOrEqual(
        3 / report.testSamples,
      );
      // Far above the 1-in-8 of guessing: the example model learned something real.
      expect(correct / report.testSamples).toBeGreaterThan(0.4);
    } finally {
      await session.release();
    }
  });
});
