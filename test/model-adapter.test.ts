import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputErrorOf } from './helpers/errors';
import { sha256Hex } from '../core/hash';
import { adaptModel, type AdaptOptions } from '../core/model/adapter';
import { buildModel, type ModelSpec } from '../core/model/onnx-builder';
import { ModelRunner } from '../core/model/runner';
import { resolveBenchmarkPlan } from '../core/resolve';
import { LocalArtifactStore } from '../core/store/local';
import { makeTensor } from '../core/tensor/tensor';
import { BenchmarkSpecV2, type PreprocessingSpecV1 } from '../spec';

const TABULAR = join(__dirname, '..', 'examples', 'tabular');
const runner = new ModelRunner({ intraOpThreads: 1, interOpThreads: 1 });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tempest-adapter-'));
});
afterAll(async () => {
  await runner.close();
  await rm(dir, { recursive: true, force: true });
});

const options = (extra: Partial<AdaptOptions> = {}): AdaptOptions => ({
  label: 'model.onnx',
  where: 'models[0]',
  ...extra,
});

async function scoresOf(bytes: Uint8Array, inputs: Float32Array, dims: number[]) {
  const loaded = await runner.load(sha256Hex(bytes), async () => bytes, 'test model');
  return runner.predictBatch(loaded, makeTensor(dims, inputs));
}

/** logits = x W + b for 4 features and 3 classes, plus a second output (the argmax as float). */
function linearSpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return {
    inputs: [{ name: 'x', type: 'float32', shape: ['N', 4] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['N', 3] }],
    initializers: [
      { name: 'W', dims: [4, 3], data: Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 1, 1]) },
      { name: 'b', dims: [3], data: Float32Array.from([0.5, -0.5, 0]) },
    ],
    nodes: [{ opType: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'] }],
    ...overrides,
  };
}

const SAMPLE = Float32Array.from([1, 2, 3, 4, 0, 0, 0, 0]);
// By hand: [1*1 + 4*1 + .5, 2*2 + 4 - .5, 3*3 + 4] and [.5, -.5, 0].
const EXPECTED = [5.5, 7.5, 13, 0.5, -0.5, 0];

describe('model adapter: the input, the score output and the graph surgery, checked in real onnxruntime', () => {
  it('leaves a model that needs nothing byte-identical (same hash, so the same cell keys)', () => {
    const bytes = buildModel(linearSpec());
    const adapted = adaptModel(bytes, options());
    expect(adapted.changed).toBe(false);
    expect(adapted.bytes).toBe(bytes);
    expect(adapted.sha256).toBe(sha256Hex(bytes));
    expect(adapted.io).toEqual({ input: 'x', output: 'logits', adaptations: [] });
  });

  it('skl2onnx LogisticRegression: with ZipMap and without, the same probabilities; the int64 label output is never read', async () => {
    const zipped = adaptModel(await readFile(join(TABULAR, 'logreg-zipmap.onnx')), options());
    const plain = adaptModel(await readFile(join(TABULAR, 'logreg.onnx')), options());
    expect(zipped.io.output).toBe('probabilities');
    expect(zipped.io.outputKind).toBe('probabilities');
    expect(zipped.io.adaptations.join('; ')).toMatch(/ZipMap removed.*output_label/);
    // Naming the ZipMap output or the probability tensor it reads (what inspect prints) is the same.
    for (const output of ['output_probability', 'probabilities']) {
      const named = adaptModel(
        await readFile(join(TABULAR, 'logreg-zipmap.onnx')),
        options({ spec: { output } }),
      );
      expect(named.bytes, output).toEqual(zipped.bytes);
    }
    expect(plain.io.output).toBe('probabilities');
    expect(plain.io.adaptations).toEqual(['outputs not read dropped: label']);
    const rows = Float32Array.from([39.5, 17.4, 186, 3800, 0, 2, 46.5, 13.5, 210, 4550, 1, 0].slice(0, 12));
    // The penguin features are island, four measurements and sex; any 6 numbers do for equality.
    const a = await scoresOf(zipped.bytes, rows, [2, 6]);
    const b = await scoresOf(plain.bytes, rows, [2, 6]);
    expect(a.classes).toBe(3);
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
    for (let row = 0; row < 2; row++) {
      const sum = a.values.slice(row * 3, row * 3 + 3).reduce((total, value) => total + value, 0);
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
  });

  it('LightGBM (onnxmltools TreeEnsembleClassifier + ZipMap) and an SVC run through the adapter', async () => {
    for (const file of ['lightgbm.onnx', 'random-forest.onnx', 'svc.onnx', 'scaled-logreg.onnx']) {
      const adapted = adaptModel(await readFile(join(TABULAR, file)), options({ label: file }));
      const { values, classes } = await scoresOf(adapted.bytes, new Float32Array(6).fill(1), [1, 6]);
      expect(classes, file).toBe(3);
      expect(
        values.every((value) => value >= 0 && value <= 1),
        file,
      ).toBe(true);
    }
  });

  it('explains a wrong output choice: the int64 label output, an unknown name, a model with no score output', async () => {
    const bytes = await readFile(join(TABULAR, 'logreg.onnx'));
    const label = inputErrorOf(() => adaptModel(bytes, options({ spec: { output: 'label' } })));
    expect(label.message).toContain('models[0].output: output "label" of model.onnx is int64 [');
    expect(label.message).toContain('predicted class labels');
    expect(label.message).toContain('set models[0].output: probabilities');
    const unknown = inputErrorOf(() => adaptModel(bytes, options({ spec: { output: 'scores' } })));
    expect(unknown.message).toMatch(
      /has no output "scores"; its outputs are "label" \(int64 .*\), "probabilities" \(float32/,
    );
    const noScores = buildModel(
      linearSpec({
        outputs: [{ name: 'top', type: 'int64', shape: ['N'] }],
        nodes: [
          { opType: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'] },
          {
            opType: 'ArgMax',
            inputs: ['logits'],
            outputs: ['top'],
            attributes: { keepdims: { int: 0 }, axis: { int: 1 } },
          },
        ],
      }),
    );
    expect(inputErrorOf(() => adaptModel(noScores, options())).message).toContain(
      'has no float32 output of shape [batch, classes]',
    );
    expect(inputErrorOf(() => adaptModel(new Uint8Array([1, 2, 3, 250]), options())).message).toContain(
      'models[0].path: model.onnx is not a loadable ONNX model',
    );
  });

  it('picks the [batch, classes] output among several float outputs, or the one the spec names', async () => {
    const twoOutputs = buildModel(
      linearSpec({
        outputs: [
          { name: 'features', type: 'float32', shape: ['N', 4, 1] },
          { name: 'logits', type: 'float32', shape: ['N', 3] },
          { name: 'probs', type: 'float32', shape: ['N', 3] },
        ],
        nodes: [
          { opType: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'] },
          { opType: 'Softmax', inputs: ['logits'], outputs: ['probs'], attributes: { axis: { int: 1 } } },
          { opType: 'Unsqueeze', inputs: ['x', 'axes'], outputs: ['features'] },
        ],
        initializers: [
          ...linearSpec().initializers!,
          { name: 'axes', dims: [1], data: BigInt64Array.from([2n]) },
        ],
      }),
    );
    const byDefault = adaptModel(twoOutputs, options());
    expect(byDefault.io.output).toBe('logits');
    expect(Array.from((await scoresOf(byDefault.bytes, SAMPLE, [2, 4])).values)).toEqual(EXPECTED);
    const named = adaptModel(twoOutputs, options({ spec: { output: 'probs', outputKind: 'probabilities' } }));
    expect(named.io).toMatchObject({ output: 'probs', outputKind: 'probabilities' });
    const probabilities = (await scoresOf(named.bytes, SAMPLE, [2, 4])).values;
    expect(probabilities[2]).toBeGreaterThan(0.99);
  });

  it('reads opset 13 and opset 21 models alike', async () => {
    for (const opset of [13, 21]) {
      const adapted = adaptModel(buildModel(linearSpec({ opset })), options());
      expect(Array.from((await scoresOf(adapted.bytes, SAMPLE, [2, 4])).values), `opset ${opset}`).toEqual(
        EXPECTED,
      );
    }
  });

  it('runs a model exported with a fixed batch of 1 in chunks: the same scores as the dynamic-batch export', async () => {
    const fixed = buildModel(
      linearSpec({
        inputs: [{ name: 'x', type: 'float32', shape: [1, 4] }],
        outputs: [{ name: 'logits', type: 'float32', shape: [1, 3] }],
      }),
    );
    const three = Float32Array.from([...SAMPLE, 1, 1, 1, 1]);
    expect(Array.from((await scoresOf(fixed, three, [3, 4])).values)).toEqual([...EXPECTED, 2.5, 2.5, 4]);
  });

  it('inlines external-data weights (the hash covers them) and refuses a location outside the model folder', async () => {
    const model = onnx.ModelProto.decode(buildModel(linearSpec()));
    const weight = model.graph!.initializer!.find((tensor) => tensor.name === 'W')!;
    const raw = Buffer.from(weight.rawData!);
    await writeFile(join(dir, 'weights.bin'), Buffer.concat([Buffer.alloc(8), raw]));
    weight.rawData = new Uint8Array(0);
    weight.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    weight.externalData = [
      onnx.StringStringEntryProto.fromObject({ key: 'location', value: 'weights.bin' }),
      onnx.StringStringEntryProto.fromObject({ key: 'offset', value: '8' }),
      onnx.StringStringEntryProto.fromObject({ key: 'length', value: String(raw.length) }),
    ];
    const external = onnx.ModelProto.encode(model).finish();
    const readExternal = (location: string) => new Uint8Array(readFileSync(join(dir, location)));
    const adapted = adaptModel(external, options({ readExternal }));
    expect(adapted.changed).toBe(true);
    expect(adapted.io.adaptations).toContain('external-data tensors inlined');
    expect(Array.from((await scoresOf(adapted.bytes, SAMPLE, [2, 4])).values)).toEqual(EXPECTED);

    // Through resolve: the file next to the model is read; one that escapes the folder is refused.
    await writeFile(join(dir, 'external.onnx'), external);
    await writeFile(join(dir, 'data.csv'), 'a,b,c,d,label\n1,2,3,4,2\n0,0,0,0,0\n');
    const specOf = (path: string) =>
      BenchmarkSpecV2.parse({
        apiVersion: 'tempest/v2',
        name: 'external',
        models: [{ id: 'm', path }],
        dataset: { source: 'csv', path: 'data.csv' },
      });
    const store = new LocalArtifactStore(join(dir, 'store'));
    const { plan } = await resolveBenchmarkPlan({
      spec: specOf('external.onnx'),
      baseDir: dir,
      store,
      runner,
    });
    expect(plan.models[0].sourceSha256).toBe(sha256Hex(external));
    expect(plan.models[0].sha256).toBe(adapted.sha256);
    expect(await store.getBlob(plan.models[0].blob.sha256)).toEqual(Buffer.from(adapted.bytes));

    weight.externalData[0] = onnx.StringStringEntryProto.fromObject({
      key: 'location',
      value: '../weights.bin',
    });
    await writeFile(join(dir, 'escape.onnx'), onnx.ModelProto.encode(model).finish());
    await expect(
      resolveBenchmarkPlan({ spec: specOf('escape.onnx'), baseDir: dir, store, runner }),
    ).rejects.toThrow(/external-data file "..\/weights.bin", outside the model's folder/);
  });

  it('folds scale, mean/std, NHWC layout and a uint8 cast into the graph in front of the original input', async () => {
    // An NHWC "model": logits = mean over pixels of each channel, for 2x2 images of 3 channels.
    const nhwc = buildModel({
      inputs: [{ name: 'image', type: 'float32', shape: ['N', 2, 2, 3] }],
      outputs: [{ name: 'logits', type: 'float32', shape: ['N', 3] }],
      initializers: [{ name: 'axes', dims: [2], data: BigInt64Array.from([1n, 2n]) }],
      nodes: [
        {
          opType: 'ReduceMean',
          inputs: ['image', 'axes'],
          outputs: ['logits'],
          attributes: { keepdims: { int: 0 } },
        },
      ],
      opset: 18,
    });
    const preprocessing: PreprocessingSpecV1 = {
      layout: 'NHWC',
      dtype: 'float32',
      scale: 255,
      mean: [100, 0, 50],
      std: [2, 1, 5],
    };
    const adapted = adaptModel(nhwc, options({ preprocessing, sampleDims: [3, 2, 2] }));
    expect(adapted.io.input).toBe('pixels');
    expect(adapted.io.adaptations[0]).toContain('NCHW -> NHWC');
    // NCHW pixels: red plane 0.4 everywhere, green 0.2, blue 1.0.
    const pixels = Float32Array.from([0.4, 0.2, 1].flatMap((value) => [value, value, value, value]));
    const { values } = await scoresOf(adapted.bytes, pixels, [1, 3, 2, 2]);
    // (0.4*255 - 100)/2 = 1, (0.2*255 - 0)/1 = 51, (255 - 50)/5 = 41.
    expect(Array.from(values).map((value) => Number(value.toFixed(4)))).toEqual([1, 51, 41]);

    const wrongLayout = inputErrorOf(() =>
      adaptModel(
        nhwc,
        options({ preprocessing: { ...preprocessing, layout: 'NCHW' }, sampleDims: [3, 2, 2] }),
      ),
    );
    expect(wrongLayout.message).toContain('set preprocessing.layout: NHWC');

    // A uint8-input model gets Round, Clip and Cast: 0.5 * 255 = 127.5 rounds to 128 (half to even).
    const quantized = onnx.ModelProto.decode(
      buildModel({
        inputs: [{ name: 'q', type: 'float32', shape: ['N', 1, 1, 2] }],
        outputs: [{ name: 'logits', type: 'float32', shape: ['N', 2] }],
        initializers: [{ name: 'shape', dims: [2], data: BigInt64Array.from([-1n, 2n]) }],
        nodes: [
          {
            opType: 'Cast',
            inputs: ['q'],
            outputs: ['f'],
            attributes: { to: { int: onnx.TensorProto.DataType.FLOAT } },
          },
          { opType: 'Reshape', inputs: ['f', 'shape'], outputs: ['logits'] },
        ],
      }),
    );
    quantized.graph!.input![0].type!.tensorType!.elemType = onnx.TensorProto.DataType.UINT8;
    const uint8 = adaptModel(onnx.ModelProto.encode(quantized).finish(), {
      ...options(),
      preprocessing: { layout: 'NCHW', dtype: 'uint8', scale: 255 },
      sampleDims: [1, 1, 2],
    });
    const cast = await scoresOf(uint8.bytes, Float32Array.from([0.5, 1.2]), [1, 1, 1, 2]);
    expect(Array.from(cast.values)).toEqual([128, 255]);
    // Without the preprocessing block, the uint8 input is refused with the spec line to write.
    const refused = inputErrorOf(() =>
      adaptModel(onnx.ModelProto.encode(quantized).finish(), { ...options(), sampleDims: [1, 1, 2] }),
    );
    expect(refused.message).toMatch(/model input "\w+" of model\.onnx is uint8/);
    expect(refused.message).toContain('preprocessing: { dtype: uint8, scale: 255 }');
  });
});
