import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGradientModel } from '../core/attack/gradient/builder';
import { UnsupportedOpError } from '../core/attack/gradient/errors';
import { loadMnist } from '../core/data/mnist';
import { sha256Hex } from '../core/hash';
import { buildModel } from '../core/model/onnx-builder';
import { makeTensor } from '../core/tensor/tensor';
import {
  ALL_LOSSES,
  checkGradient,
  labelsAndTargets,
  onGrid,
  oracleFor,
  seeded,
} from './helpers/gradient-check';
import { CaseBuilder, CLASSES, unsupportedOpErrorOf } from './helpers/gradient-models';

const exampleBytes = (name: string) =>
  readFileSync(join(__dirname, '..', 'examples', 'models', `${name}.onnx`));

/** input [N, 6] -> Gemm -> `opType` -> head, or with the op applied to the input directly. */
function modelWith(opType: string, onInput: boolean): Uint8Array {
  const model = new CaseBuilder(`unsupported-${opType}`);
  const hidden = onInput ? 'input' : model.op('Gemm', ['input', model.weight([6, 6])]);
  return model.finish(model.op(opType, [hidden]), 6, [6]);
}

describe('gradient model construction', () => {
  it.each(['Sin', 'Cos'])('refuses %s on the input path with a clear error', async (opType) => {
    const bytes = modelWith(opType, opType === 'Cos');
    const error = unsupportedOpErrorOf(bytes, opType);
    expect(error.message).toMatch(/use a black-box attack \(square, simba, hopskipjump\) for this model/);
    // The oracle still serves logits (black-box attacks) and says why there are no gradients.
    const oracle = await oracleFor(bytes);
    try {
      expect('lossAndGradient' in oracle).toBe(false);
      expect(oracle.gradientUnavailable).toBeInstanceOf(UnsupportedOpError);
      expect((oracle.gradientUnavailable as UnsupportedOpError).opType).toBe(opType);
      expect((await oracle.logits(makeTensor([2, 6]))).length).toBe(2 * CLASSES);
    } finally {
      await oracle.release();
    }
  });

  it('builds the same bytes every time, and they give the same gradient bytes in fresh sessions', async () => {
    const bytes = exampleBytes('mnist-cnn');
    for (const loss of ALL_LOSSES) {
      expect(sha256Hex(buildGradientModel(bytes, loss))).toBe(sha256Hex(buildGradientModel(bytes, loss)));
    }
    const { inputs, labels } = loadMnist('test', 20);
    const targets = Int32Array.from(labels, (label) => (label + 1) % 10);
    const runs: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const oracle = await oracleFor(bytes);
      try {
        const hashes: string[] = [];
        for (const loss of ALL_LOSSES) {
          const result = await oracle.lossAndGradient!(inputs, labels, loss, targets);
          hashes.push(
            sha256Hex(new Uint8Array(result.gradient.buffer)),
            sha256Hex(new Uint8Array(result.loss.buffer)),
          );
        }
        runs.push(hashes);
      } finally {
        await oracle.release();
      }
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(new Set(runs[0]).size).toBe(runs[0].length);
  });

  it('gives the model input, labels, targets and the three outputs their fixed names', async () => {
    const { onnx } = await import('onnx-proto');
    const model = onnx.ModelProto.decode(buildGradientModel(exampleBytes('mnist-mlp'), 'dlr-targeted'));
    const graph = model.graph as InstanceType<typeof onnx.GraphProto>;
    expect(graph.input.map((value) => value.name)).toEqual(['input', 'labels', 'targets']);
    expect(graph.output.map((value) => value.name)).toEqual(['loss', 'gradient', 'logits']);
    expect(model.opsetImport.map((entry) => Number(entry.version))).toEqual([13]);
    expect([...new Set(graph.node.map((node) => node.domain || 'ai.onnx'))]).toEqual(['ai.onnx']);
  });

  it('upgrades an opset-10 model (Clip and Dropout attributes, Unsqueeze axes, 2-D Softmax) exactly', async () => {
    const model = new CaseBuilder('opset-10');
    const hidden = model.op('Gemm', ['input', model.weight([6, 8]), model.weight([8])]);
    const clipped = model.op('Clip', [hidden], { min: { float: -0.6 }, max: { float: 0.5 } });
    const dropped = model.op('Dropout', [clipped], { ratio: { float: 0.3 } });
    const soft = model.op('Softmax', [model.op('Mul', [dropped, model.scalar(3)])], { axis: { int: 1 } });
    const lifted = model.op('Unsqueeze', [soft], { axes: { ints: [1] } });
    const bytes = model.finish(lifted, 8, [6], 10);
    const oracle = await oracleFor(bytes);
    try {
      const batch = makeTensor([3, 6], onGrid(seeded('opset-10/inputs', 18)));
      const { labels, targets } = labelsAndTargets(await oracle.logits(batch), CLASSES);
      for (const loss of ALL_LOSSES) {
        const check = await checkGradient(oracle, batch, labels, loss, targets, 2 ** -10);
        expect(Math.max(...check.relativeErrors), loss).toBeLessThan(1e-3);
        expect(Math.max(...check.lossErrors), loss).toBeLessThan(1e-5);
      }
    } finally {
      await oracle.release();
    }
  });

  it("renames forward tensors that collide with the gradient model's names", async () => {
    // Input "labels", hidden "gradient", logits "loss": all renamed inside the gradient model.
    const bytes = buildModel({
      inputs: [{ name: 'labels', type: 'float32', shape: ['N', 4] }],
      outputs: [{ name: 'loss', type: 'float32', shape: ['N', CLASSES] }],
      initializers: [{ name: 'weight', dims: [4, CLASSES], data: seeded('collide/weight', 4 * CLASSES) }],
      nodes: [
        { opType: 'MatMul', inputs: ['labels', 'weight'], outputs: ['gradient'] },
        { opType: 'Tanh', inputs: ['gradient'], outputs: ['loss'] },
      ],
    });
    const oracle = await oracleFor(bytes);
    try {
      const batch = makeTensor([3, 4], onGrid(seeded('collide/inputs', 12)));
      const { labels, targets } = labelsAndTargets(await oracle.logits(batch), CLASSES);
      for (const loss of ALL_LOSSES) {
        // A small step: two of these logits are close, and DLR has a kink where they swap.
        const check = await checkGradient(oracle, batch, labels, loss, targets, 2 ** -10);
        expect(Math.max(...check.relativeErrors), loss).toBeLessThan(1e-3);
        expect(Math.max(...check.lossErrors), loss).toBeLessThan(1e-5);
      }
    } finally {
      await oracle.release();
    }
  });

  it('refuses labels and targets outside the classes, and targeted losses without targets', async () => {
    const oracle = await oracleFor(exampleBytes('mnist-mlp'));
    try {
      const batch = makeTensor([2, 1, 28, 28]);
      await expect(oracle.lossAndGradient!(batch, Int32Array.of(1, 10), 'ce')).rejects.toThrow(
        /labels\[1\] = 10 is not a class in \[0, 10\)/,
      );
      await expect(oracle.lossAndGradient!(batch, Int32Array.of(1, 2), 'ce-targeted')).rejects.toThrow(
        /needs target classes/,
      );
      await expect(oracle.lossAndGradient!(batch, Int32Array.of(1), 'ce')).rejects.toThrow(
        /1 given for a batch of 2/,
      );
    } finally {
      await oracle.release();
    }
  });
});
