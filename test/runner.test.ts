import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { TempestInputError } from '../core/errors';
import { sha256Hex } from '../core/hash';
import { buildLinearModel } from '../core/model/onnx-builder';
import { ModelRunner } from '../core/model/runner';
import { makeTensor } from '../core/tensor/tensor';

const runner = new ModelRunner({ intraOpThreads: 1, interOpThreads: 1 });

// logits = x · W + b with W = [[1, 2], [3, 4], [5, 6]] (3 inputs, 2 classes) and b = [0.5, -1].
const tinyBytes = buildLinearModel(
  [
    [1, 2],
    [3, 4],
    [5, 6],
  ],
  [0.5, -1],
);
const tiny = () => runner.load(sha256Hex(tinyBytes), async () => tinyBytes, 'tiny');

describe('ModelRunner (real onnxruntime-node)', () => {
  it('gives the logits computed by hand for a tiny Gemm model, across batches', async () => {
    const inputs = makeTensor([3, 3], Float32Array.from([1, 1, 1, 1, 0, -1, 0, 2, 0.5]));
    // [1,1,1]:    [1+3+5+0.5, 2+4+6-1]          = [9.5, 11]
    // [1,0,-1]:   [1-5+0.5,   2-6-1]            = [-3.5, -5]
    // [0,2,0.5]:  [6+2.5+0.5, 8+3-1]            = [9, 10]
    const { values, classes } = await runner.predict(await tiny(), inputs, 2);
    expect(classes).toBe(2);
    expect([...values]).toEqual([9.5, 11, -3.5, -5, 9, 10]);
  });

  it('reads the model signature from the graph', async () => {
    const model = await tiny();
    expect(model.signature).toEqual({ inputName: 'input', outputName: 'logits', inputDims: [-1, 3] });
  });

  it('refuses inputs of the wrong shape with a message naming both shapes', async () => {
    const error = await runner
      .predict(await tiny(), makeTensor([2, 4]), 2)
      .catch((caught: unknown) => caught as TempestInputError);
    expect(error).toBeInstanceOf(TempestInputError);
    expect((error as TempestInputError).kind).toBe('ShapeMismatch');
    expect((error as Error).message).toMatch(/expects \[N, 3\] but the dataset gives samples of shape \[4\]/);
  });

  it('refuses bytes that are not an ONNX model', async () => {
    const garbage = new TextEncoder().encode('definitely not onnx');
    await expect(runner.load(sha256Hex(garbage), async () => garbage, 'garbage.onnx')).rejects.toThrow(
      /model garbage.onnx is not a loadable ONNX model/,
    );
  });

  it('gives the same scores whatever the batch size (the example MLP on real digits)', async () => {
    const bytes = readFileSync(join(__dirname, '..', 'examples', 'models', 'mnist-mlp.onnx'));
    const mlp = await runner.load(sha256Hex(bytes), async () => bytes);
    const { inputs } = loadMnist('test', 100);
    const whole = await runner.predict(mlp, inputs, 100);
    const batched = await runner.predict(mlp, inputs, 7);
    expect(whole.classes).toBe(10);
    let maxDifference = 0;
    for (let i = 0; i < whole.values.length; i++) {
      maxDifference = Math.max(maxDifference, Math.abs(whole.values[i] - batched.values[i]));
    }
    // Batching may change kernel blocking, so allow float rounding; cell keys include the batch size.
    expect(maxDifference).toBeLessThan(1e-4);
  });
});
