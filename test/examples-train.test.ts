import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { sha256Hex } from '../core/hash';
import { buildLinearModel } from '../core/model/onnx-builder';
import type { Tensor } from '../core/tensor/tensor';
import { accuracyOf, predictLogits } from '../examples/train/models';
import { trainAndExport, type TrainedModelFile } from '../examples/train/train-mnist-models';

const COMMITTED_DIR = join(__dirname, '..', 'examples', 'models');
const MIN_TEST_ACCURACY: Record<string, number> = { 'mnist-mlp.onnx': 0.93, 'mnist-cnn.onnx': 0.95 };

function readSums(dir: string): Map<string, string> {
  const lines = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trimEnd().split('\n');
  return new Map(lines.map((line) => line.split('  ').reverse() as [string, string]));
}

async function ortLogits(model: Uint8Array, inputs: Tensor): Promise<Tensor> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const { logits } = await session.run({ input: new ort.Tensor('float32', inputs.data, [...inputs.dims]) });
    return { dims: logits.dims, data: logits.data as Float32Array };
  } finally {
    await session.release();
  }
}

describe('examples/train: the committed MNIST models', () => {
  let outDir: string;
  let trained: TrainedModelFile[];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'tempest-train-'));
    trained = (await trainAndExport({ outDir })).files;
  }, 300_000);

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('retrains to the exact bytes of the committed models', () => {
    const committed = readSums(COMMITTED_DIR);
    expect([...committed.keys()].sort()).toEqual(['mnist-cnn.onnx', 'mnist-mlp.onnx']);
    for (const [name, sha256] of committed) {
      expect(sha256Hex(readFileSync(join(COMMITTED_DIR, name))), `committed ${name}`).toBe(sha256);
      expect(sha256Hex(readFileSync(join(outDir, name))), `retrained ${name}`).toBe(sha256);
    }
    expect(readFileSync(join(outDir, 'SHA256SUMS'), 'utf8')).toBe(
      readFileSync(join(COMMITTED_DIR, 'SHA256SUMS'), 'utf8'),
    );
  });

  it('runs in onnxruntime-node as the trained weights do in JS', async () => {
    const sample = loadMnist('test', 64);
    const testSplit = loadMnist('test');
    for (const { name, network, testAccuracy } of trained) {
      const model = readFileSync(join(COMMITTED_DIR, name));
      const fromOrt = await ortLogits(model, sample.inputs);
      const fromJs = predictLogits(network, sample.inputs);
      expect(fromOrt.dims).toEqual([64, 10]);
      const maxDifference = fromOrt.data.reduce(
        (max, value, index) => Math.max(max, Math.abs(value - fromJs.data[index])),
        0,
      );
      expect(maxDifference, name).toBeLessThan(1e-4);

      const ortAccuracy = accuracyOf(await ortLogits(model, testSplit.inputs), testSplit.labels);
      expect(ortAccuracy, name).toBeGreaterThanOrEqual(MIN_TEST_ACCURACY[name]);
      expect(testAccuracy, name).toBeGreaterThanOrEqual(MIN_TEST_ACCURACY[name]);
      // Logits agree to ~1e-6, so only a near-tie could flip a prediction between the two.
      expect(Math.abs(ortAccuracy - testAccuracy), name).toBeLessThanOrEqual(2 / testSplit.labels.length);
    }
  });
});

describe('core/model/onnx-builder', () => {
  it('builds a linear model that ORT runs to hand-computed logits', async () => {
    const model = buildLinearModel(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [0.5, -1],
    );
    const inputs = { dims: [3, 3], data: Float32Array.from([1, 1, 1, 1, 0, -1, 0, 2, 0.5]) };
    const logits = await ortLogits(model, inputs);
    expect(logits.dims).toEqual([3, 2]);
    // [1,1,1]: [1+3+5, 2+4+6] + bias; [1,0,-1]: [1-5, 2-6] + bias; [0,2,0.5]: [6+2.5, 8+3] + bias.
    expect(Array.from(logits.data)).toEqual([9.5, 11, -3.5, -5, 9, 10]);
  });
});
