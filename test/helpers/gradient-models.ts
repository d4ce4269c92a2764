import { expect } from 'vitest';
import { buildGradientModel } from '../../core/attack/gradient/builder';
import { UnsupportedOpError } from '../../core/attack/gradient/errors';
import { TempestInputError } from '../../core/errors';
import {
  buildModel,
  CLASSIFIER_INPUT,
  CLASSIFIER_OUTPUT,
  type AttributeValue,
  type Dim,
  type InitializerSpec,
  type NodeSpec,
} from '../../core/model/onnx-builder';
import { seeded } from './gradient-check';

/**
 * Tiny seeded classifiers, one per op under test: the op (or a few configurations of it) between
 * the input and a Flatten + Gemm head with CLASSES logits.
 */
export const CLASSES = 5;

export interface OpCase {
  readonly name: string;
  /** Dims of one sample as the model declares them (numbers or symbols). */
  readonly sampleDims: readonly Dim[];
  /** Actual dims of one sample when some are symbolic. */
  readonly concreteDims?: readonly number[];
  readonly bytes: Uint8Array;
  /**
   * Finite-difference step: 2^-7 where the graph is smooth or linear, 2^-10 where a kink (ReLU,
   * a max, a clip bound) may lie within a few steps of the seeded inputs.
   */
  readonly step: number;
  /**
   * Each sample's values all at least 2 / size apart (a shuffled even grid): max pooling over
   * random values may meet a near-tie within the finite-difference step, a kink.
   */
  readonly distinctInputs?: boolean;
}

/** A model under construction: nodes and seeded constants added in order, then a classifier head. */
export class CaseBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: InitializerSpec[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  weight(dims: readonly number[], scale = 0.5): string {
    const name = `w${this.counter++}`;
    const count = dims.reduce((a, b) => a * b, 1);
    this.initializers.push({ name, dims, data: seeded(`${this.name}/${name}`, count, scale) });
    return name;
  }

  positive(dims: readonly number[], low: number, high: number): string {
    const name = `p${this.counter++}`;
    const count = dims.reduce((a, b) => a * b, 1);
    const unit = seeded(`${this.name}/${name}`, count, 1);
    this.initializers.push({ name, dims, data: unit.map((u) => low + ((u + 1) / 2) * (high - low)) });
    return name;
  }

  /** An int64 tensor of any dims (e.g. [] for a scalar index, [2, 2] for Gather indices). */
  intTensor(dims: readonly number[], values: readonly number[]): string {
    const name = `i${this.counter++}`;
    this.initializers.push({ name, dims, data: BigInt64Array.from(values, BigInt) });
    return name;
  }

  ints(values: readonly number[]): string {
    const name = `i${this.counter++}`;
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values, BigInt) });
    return name;
  }

  scalar(value: number): string {
    const name = `s${this.counter++}`;
    this.initializers.push({ name, dims: [], data: Float32Array.of(value) });
    return name;
  }

  op(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
    outputs = 1,
  ): string {
    return this.opOutputs(opType, inputs, attributes, outputs)[0];
  }

  /** Like op, returning every output's name (Split). */
  opOutputs(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
    outputs = 1,
  ): string[] {
    const names = Array.from(
      { length: outputs },
      (_, index) => `t${this.counter++}${index ? `_${index}` : ''}`,
    );
    this.nodes.push({
      opType,
      inputs,
      outputs: names,
      attributes,
      name: `${opType.toLowerCase()}${this.counter}`,
    });
    return names;
  }

  /** Flatten [N, ...] to [N, features] and a Gemm to the logits; returns the model bytes. */
  finish(from: string, features: number, sampleDims: readonly Dim[], opset?: number): Uint8Array {
    const flat = this.op('Flatten', [from], { axis: { int: 1 } });
    const weight = this.weight([CLASSES, features], 1 / Math.sqrt(features));
    const bias = this.weight([CLASSES], 0.1);
    this.nodes.push({
      opType: 'Gemm',
      inputs: [flat, weight, bias],
      outputs: [CLASSIFIER_OUTPUT],
      attributes: { transB: { int: 1 } },
      name: 'head',
    });
    return buildModel({
      graphName: this.name,
      inputs: [{ name: CLASSIFIER_INPUT, type: 'float32', shape: ['N', ...sampleDims] }],
      outputs: [{ name: CLASSIFIER_OUTPUT, type: 'float32', shape: ['N', CLASSES] }],
      initializers: this.initializers,
      nodes: this.nodes,
      ...(opset === undefined ? {} : { opset }),
    });
  }
}

const X = CLASSIFIER_INPUT;

interface CaseSpec {
  readonly sampleDims: readonly Dim[];
  readonly concreteDims?: readonly number[];
  /** Output tensor and its features per sample. */
  readonly build: (model: CaseBuilder) => [string, number];
  readonly kinked?: boolean;
  readonly distinctInputs?: boolean;
  /** The model's opset (default DEFAULT_OPSET, 13): LayerNormalization needs 17, Gelu 20. */
  readonly opset?: number;
}

function opCase(name: string, spec: CaseSpec): OpCase {
  const model = new CaseBuilder(name);
  const [output, features] = spec.build(model);
  return {
    name,
    sampleDims: spec.sampleDims,
    concreteDims: spec.concreteDims,
    bytes: model.finish(output, features, spec.sampleDims, spec.opset),
    step: spec.kinked ? 2 ** -10 : 2 ** -7,
    distinctInputs: spec.distinctInputs,
  };
}

/** An elementwise op between operands of shapes [N,3,4], [N,1,4] and [N,3,1], all computed from the input. */
function broadcastCase(opType: 'Add' | 'Sub' | 'Mul' | 'Div'): OpCase {
  return opCase(`${opType.toLowerCase()}-broadcast`, {
    sampleDims: [12],
    build(m) {
      const full = m.op('Reshape', [m.op('MatMul', [X, m.weight([12, 12])]), m.ints([-1, 3, 4])]);
      const row = m.op('Reshape', [m.op('MatMul', [X, m.weight([12, 4])]), m.ints([-1, 1, 4])]);
      const column = m.op('Reshape', [m.op('MatMul', [X, m.weight([12, 3])]), m.ints([-1, 3, 1])]);
      // Divisors kept in [0.5, 1.5] so that the quotient stays smooth.
      const safe = (t: string) => (opType === 'Div' ? m.op('Add', [m.op('Sigmoid', [t]), m.scalar(0.5)]) : t);
      const first = m.op(opType, [full, safe(row)]);
      const second = m.op(opType, [column, safe(first)]);
      const third = m.op(opType, [second, safe(m.weight([4]))]);
      return [third, 12];
    },
  });
}

function activationCase(opType: string, attributes: Record<string, AttributeValue> = {}): OpCase {
  return opCase(opType.toLowerCase(), {
    sampleDims: [6],
    kinked: opType === 'Relu' || opType === 'LeakyRelu',
    build(m) {
      const hidden = m.op('Gemm', [X, m.weight([6, 8]), m.weight([8])]);
      return [m.op(opType, [hidden], attributes), 8];
    },
  });
}

function convCase(
  name: string,
  inputDims: readonly number[],
  weightDims: readonly number[],
  attributes: Record<string, AttributeValue>,
  features: number,
): OpCase {
  return opCase(name, {
    sampleDims: inputDims,
    build: (m) => [
      m.op('Conv', [X, m.weight(weightDims), m.weight([weightDims[0]], 0.1)], attributes),
      features,
    ],
  });
}

function poolCase(
  name: string,
  opType: 'MaxPool' | 'AveragePool',
  inputDims: readonly number[],
  attributes: Record<string, AttributeValue>,
  features: number,
): OpCase {
  return opCase(name, {
    sampleDims: inputDims,
    kinked: opType === 'MaxPool',
    distinctInputs: opType === 'MaxPool',
    build: (m) => [m.op(opType, [X], attributes), features],
  });
}

const ints = (...values: number[]) => ({ ints: values });

export const OP_CASES: readonly OpCase[] = [
  opCase('gemm-a', {
    sampleDims: [6],
    build: (m) => [
      m.op('Gemm', [X, m.weight([5, 6]), m.weight([5])], {
        transB: { int: 1 },
        alpha: { float: 0.7 },
        beta: { float: 1.3 },
      }),
      5,
    ],
  }),
  opCase('gemm-a-transposed', {
    sampleDims: [6],
    build: (m) => [
      m.op('Gemm', [m.op('Transpose', [X], { perm: ints(1, 0) }), m.weight([6, 5])], {
        transA: { int: 1 },
        alpha: { float: 1.1 },
      }),
      5,
    ],
  }),
  opCase('gemm-b', {
    sampleDims: [6],
    build: (m) => [m.op('Transpose', [m.op('Gemm', [m.weight([5, 6]), X], { transB: { int: 1 } })]), 5],
  }),
  opCase('gemm-b-transposed-a', {
    sampleDims: [6],
    build: (m) => [
      m.op('Transpose', [
        m.op('Gemm', [m.weight([6, 5]), m.op('Transpose', [X])], {
          transA: { int: 1 },
          alpha: { float: -0.8 },
        }),
      ]),
      5,
    ],
  }),
  opCase('gemm-c-broadcast', {
    sampleDims: [6],
    build: (m) => [
      m.op('Gemm', [X, m.weight([6, 5]), m.op('MatMul', [X, m.weight([6, 1])])], { beta: { float: 0.5 } }),
      5,
    ],
  }),
  opCase('matmul-2d', {
    sampleDims: [6],
    build: (m) => [m.op('MatMul', [X, m.weight([6, 5])]), 5],
  }),
  opCase('matmul-batched', {
    sampleDims: [2, 3],
    build: (m) => [m.op('MatMul', [X, m.weight([3, 4])]), 8],
  }),
  opCase('matmul-both-operands-broadcast', {
    sampleDims: [6],
    build(m) {
      const a = m.op('Reshape', [X, m.ints([-1, 1, 2, 3])]);
      const b = m.op('Reshape', [m.op('MatMul', [X, m.weight([6, 24])]), m.ints([-1, 4, 3, 2])]);
      return [m.op('MatMul', [a, b]), 16];
    },
  }),
  opCase('matmul-vectors', {
    sampleDims: [2, 3],
    build(m) {
      const rows = m.op('MatMul', [X, m.weight([3])]);
      const columns = m.op('MatMul', [m.weight([2]), X]);
      return [m.op('Concat', [rows, columns], { axis: { int: 1 } }), 5];
    },
  }),
  broadcastCase('Add'),
  broadcastCase('Sub'),
  broadcastCase('Mul'),
  broadcastCase('Div'),
  opCase('mul-symbolic-dims', {
    // Symbolic sample dims: the broadcast axes are found at run time.
    sampleDims: ['R', 'S'],
    concreteDims: [3, 4],
    build: (m) => [
      m.op('Mul', [m.op('Add', [X, m.weight([3, 4])]), m.op('MatMul', [X, m.weight([4, 1])])]),
      12,
    ],
  }),
  activationCase('Relu'),
  activationCase('LeakyRelu', { alpha: { float: 0.2 } }),
  activationCase('Sigmoid'),
  activationCase('Tanh'),
  activationCase('Softmax'),
  activationCase('LogSoftmax'),
  opCase('softmax-axis-1-of-3', {
    sampleDims: [3, 4],
    build: (m) => [m.op('Softmax', [m.op('Mul', [X, m.scalar(2)])], { axis: { int: 1 } }), 12],
  }),
  opCase('logsoftmax-axis-minus-2', {
    sampleDims: [3, 4],
    build: (m) => [m.op('LogSoftmax', [m.op('Mul', [X, m.scalar(2)])], { axis: { int: -2 } }), 12],
  }),
  opCase('flatten-reshape-transpose', {
    sampleDims: [2, 3, 4],
    build(m) {
      const flat = m.op('Flatten', [X], { axis: { int: 2 } });
      const back = m.op('Reshape', [flat, m.ints([-1, 4, 6])]);
      return [m.op('Transpose', [back], { perm: ints(0, 2, 1) }), 24];
    },
  }),
  opCase('exported-flatten', {
    // Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as exporters write Flatten: integer ops on the input's path.
    sampleDims: [2, 3],
    build(m) {
      const batch = m.op('Gather', [m.op('Shape', [X]), m.ints([0])], { axis: { int: 0 } });
      const shape = m.op('Concat', [batch, m.ints([-1])], { axis: { int: 0 } });
      return [m.op('Reshape', [X, shape]), 6];
    },
  }),
  convCase('conv-pad1', [2, 6, 6], [3, 2, 3, 3], { pads: ints(1, 1, 1, 1) }, 108),
  convCase(
    'conv-stride2-asymmetric-pads',
    [2, 7, 6],
    [3, 2, 3, 2],
    { strides: ints(2, 2), pads: ints(1, 0, 2, 1) },
    3 * 4 * 3,
  ),
  convCase(
    'conv-groups-dilation',
    [4, 9, 9],
    [6, 2, 3, 3],
    { group: { int: 2 }, dilations: ints(2, 2), pads: ints(2, 2, 2, 2), kernel_shape: ints(3, 3) },
    6 * 81,
  ),
  convCase('conv-stride3-uncovered-rows', [2, 8, 7], [3, 2, 3, 3], { strides: ints(3, 3) }, 3 * 2 * 2),
  convCase('conv-1d', [2, 10], [3, 2, 3], { strides: ints(2), pads: ints(1, 1) }, 15),
  convCase(
    'conv-depthwise-valid',
    [3, 6, 6],
    [3, 1, 2, 2],
    { group: { int: 3 }, auto_pad: { string: 'VALID' } },
    75,
  ),
  convCase(
    'conv-same-upper-stride2',
    [2, 7, 6],
    [3, 2, 3, 3],
    { auto_pad: { string: 'SAME_UPPER' }, strides: ints(2, 2) },
    36,
  ),
  convCase(
    'conv-same-lower-even-kernel',
    [2, 6, 6],
    [3, 2, 2, 2],
    { auto_pad: { string: 'SAME_LOWER' } },
    108,
  ),
  poolCase(
    'maxpool-same-upper',
    'MaxPool',
    [2, 7, 7],
    { kernel_shape: ints(3, 3), strides: ints(2, 2), auto_pad: { string: 'SAME_UPPER' } },
    32,
  ),
  poolCase(
    'averagepool-same-lower',
    'AveragePool',
    [2, 6, 7],
    { kernel_shape: ints(2, 2), strides: ints(2, 2), auto_pad: { string: 'SAME_LOWER' } },
    24,
  ),
  poolCase('maxpool-2x2', 'MaxPool', [2, 6, 6], { kernel_shape: ints(2, 2), strides: ints(2, 2) }, 18),
  poolCase(
    'maxpool-3x3-stride2-pad1-overlapping',
    'MaxPool',
    [2, 7, 7],
    { kernel_shape: ints(3, 3), strides: ints(2, 2), pads: ints(1, 1, 1, 1) },
    32,
  ),
  poolCase(
    'maxpool-ceil-mode',
    'MaxPool',
    [2, 7, 7],
    { kernel_shape: ints(2, 2), strides: ints(2, 2), ceil_mode: { int: 1 } },
    32,
  ),
  poolCase(
    'maxpool-dilated',
    'MaxPool',
    [1, 6, 6],
    { kernel_shape: ints(2, 2), dilations: ints(2, 2), pads: ints(0, 1, 1, 0) },
    25,
  ),
  poolCase(
    'averagepool-exclude-pad',
    'AveragePool',
    [2, 7, 7],
    { kernel_shape: ints(3, 3), strides: ints(2, 2), pads: ints(1, 1, 1, 1) },
    32,
  ),
  poolCase(
    'averagepool-include-pad',
    'AveragePool',
    [2, 7, 7],
    { kernel_shape: ints(3, 3), strides: ints(2, 2), pads: ints(1, 1, 1, 1), count_include_pad: { int: 1 } },
    32,
  ),
  poolCase(
    'averagepool-ceil-asymmetric',
    'AveragePool',
    [2, 7, 7],
    { kernel_shape: ints(3, 2), strides: ints(2, 2), pads: ints(1, 0, 0, 1), ceil_mode: { int: 1 } },
    2 * 4 * 4,
  ),
  poolCase(
    'averagepool-ceil-include-pad',
    'AveragePool',
    [2, 7, 7],
    {
      kernel_shape: ints(3, 2),
      strides: ints(2, 2),
      pads: ints(1, 0, 0, 1),
      ceil_mode: { int: 1 },
      count_include_pad: { int: 1 },
    },
    2 * 4 * 4,
  ),
  opCase('globalaveragepool', {
    sampleDims: [3, 4, 5],
    build: (m) => [m.op('GlobalAveragePool', [X]), 3],
  }),
  opCase('batchnormalization', {
    sampleDims: [3, 4, 4],
    build: (m) => [
      m.op(
        'BatchNormalization',
        [X, m.weight([3], 1.5), m.weight([3]), m.weight([3]), m.positive([3], 0.2, 2)],
        { epsilon: { float: 1e-3 } },
      ),
      48,
    ],
  }),
  opCase('dropout-identity', {
    sampleDims: [6],
    build: (m) => [m.op('Identity', [m.op('Dropout', [m.op('MatMul', [X, m.weight([6, 5])])])]), 5],
  }),
  opCase('clip', {
    sampleDims: [8],
    kinked: true,
    build(m) {
      const both = m.op('Clip', [X, m.scalar(-0.5), m.scalar(0.4)]);
      const lower = m.op('Clip', [X, m.scalar(-0.2)]);
      const upper = m.op('Clip', [X, '', m.scalar(0.3)]);
      return [m.op('Concat', [both, lower, upper], { axis: { int: 1 } }), 24];
    },
  }),
  opCase('concat-fan-out', {
    sampleDims: [6],
    kinked: true,
    build(m) {
      const a = m.op('Gemm', [X, m.weight([6, 3])]);
      const b = m.op('Tanh', [X]);
      const c = m.op('Reshape', [m.op('Relu', [a]), m.ints([0, -1])]);
      return [m.op('Concat', [a, b, c, m.op('Add', [X, X])], { axis: { int: 1 } }), 18];
    },
  }),
  ...torchExportOpCases(),
];

/** Cases for the ops of torch.onnx exports (HardSwish ... Split), one per rule and form. */
function torchExportOpCases(): OpCase[] {
  /** A "to the end" bound as exporters write into Slice (int64 max; 2^53 - 1 is also past any end). */
  const TO_END = Number.MAX_SAFE_INTEGER;
  /** [N, 8] hidden units spread over about [-4, 4], where the hard activations have all their pieces. */
  const wide = (m: CaseBuilder) => m.op('Gemm', [X, m.weight([6, 8], 1.5), m.weight([8])]);
  /** Strictly positive hidden units in [0.5, 1.5], for Sqrt, Log, Reciprocal and fractional Pow. */
  const positive = (m: CaseBuilder) =>
    m.op('Add', [m.op('Sigmoid', [m.op('Gemm', [X, m.weight([6, 8]), m.weight([8])])]), m.scalar(0.5)]);
  /** [N, 3, 4] from the input [N, 12] by a Gemm (so every entry depends on every input). */
  const cube = (m: CaseBuilder) =>
    m.op('Reshape', [m.op('MatMul', [X, m.weight([12, 12])]), m.ints([-1, 3, 4])]);
  const unary = (name: string, build: (m: CaseBuilder) => string, extra: Partial<CaseSpec> = {}) =>
    opCase(name, { sampleDims: [6], build: (m) => [build(m), 8], ...extra });
  return [
    unary(
      'hardsigmoid',
      (m) => m.op('HardSigmoid', [wide(m)], { alpha: { float: 0.3 }, beta: { float: 0.4 } }),
      {
        kinked: true,
      },
    ),
    unary('hardswish', (m) => m.op('HardSwish', [wide(m)]), { kinked: true, opset: 14 }),
    unary('erf', (m) => m.op('Erf', [wide(m)])),
    unary('gelu-exact', (m) => m.op('Gelu', [wide(m)]), { opset: 20 }),
    unary('gelu-tanh', (m) => m.op('Gelu', [wide(m)], { approximate: { string: 'tanh' } }), { opset: 20 }),
    unary('exp', (m) => m.op('Exp', [m.op('Gemm', [X, m.weight([6, 8]), m.weight([8])])])),
    unary('neg', (m) => m.op('Neg', [wide(m)])),
    unary('abs', (m) => m.op('Abs', [wide(m)]), { kinked: true }),
    unary('sqrt', (m) => m.op('Sqrt', [positive(m)])),
    unary('log', (m) => m.op('Log', [positive(m)])),
    unary('reciprocal', (m) => m.op('Reciprocal', [positive(m)])),
    unary('pow-square', (m) => m.op('Pow', [wide(m), m.scalar(2)])),
    unary('pow-half-per-column', (m) => m.op('Pow', [positive(m), m.positive([8], 0.3, 2.5)])),
    unary('pow-int64-cube', (m) => m.op('Pow', [wide(m), m.intTensor([], [3])])),
    unary('cast-float', (m) => m.op('Cast', [wide(m)], { to: { int: 1 } })),
    unary('where-constant-condition', (m) => {
      const condition = m.op('Equal', [m.ints([0, 1, 0, 0, 1, 1, 0, 1]), m.intTensor([], [1])]);
      return m.op('Where', [condition, wide(m), m.op('Tanh', [wide(m)])]);
    }),
    opCase('layernormalization-last-axis', {
      sampleDims: [12],
      opset: 17,
      build: (m) => [
        m.op('LayerNormalization', [cube(m), m.weight([4], 1.5), m.weight([4])], {
          epsilon: { float: 1e-3 },
        }),
        12,
      ],
    }),
    opCase('layernormalization-axis-1-no-bias', {
      sampleDims: [12],
      opset: 17,
      build: (m) => [m.op('LayerNormalization', [cube(m), m.weight([3, 4], 1.5)], { axis: { int: 1 } }), 12],
    }),
    opCase('reducemean-axes-attribute', {
      sampleDims: [12],
      build: (m) => [m.op('ReduceMean', [cube(m)], { axes: ints(1), keepdims: { int: 0 } }), 4],
    }),
    opCase('reducemean-axes-input-opset18', {
      sampleDims: [12],
      opset: 18,
      build: (m) => [m.op('ReduceMean', [cube(m), m.ints([-1, -2])]), 1],
    }),
    opCase('reducemean-negative-axis-keepdims', {
      sampleDims: [12],
      build: (m) => [m.op('ReduceMean', [cube(m)], { axes: ints(-1) }), 3],
    }),
    opCase('reducesum-axes-input', {
      sampleDims: [12],
      build: (m) => [m.op('ReduceSum', [cube(m), m.ints([2])], { keepdims: { int: 0 } }), 3],
    }),
    opCase('reducesum-noop-empty-axes', {
      sampleDims: [12],
      build: (m) => [m.op('ReduceSum', [cube(m)], { noop_with_empty_axes: { int: 1 } }), 12],
    }),
    opCase('gather-2d-indices-repeated-negative', {
      sampleDims: [12],
      build: (m) => [m.op('Gather', [cube(m), m.intTensor([2, 2], [0, 2, 2, -1])], { axis: { int: 1 } }), 16],
    }),
    opCase('gather-scalar-index-last-axis', {
      sampleDims: [12],
      build: (m) => [m.op('Gather', [cube(m), m.intTensor([], [-2])], { axis: { int: 2 } }), 3],
    }),
    opCase('gather-class-token', {
      // ViT's x[:, 0]: a scalar index along the token axis.
      sampleDims: [12],
      build: (m) => [m.op('Gather', [cube(m), m.intTensor([], [0])], { axis: { int: 1 } }), 4],
    }),
    opCase('slice-two-axes-negative-start-to-end', {
      sampleDims: [12],
      build: (m) => [m.op('Slice', [cube(m), m.ints([1, -3]), m.ints([3, TO_END]), m.ints([1, 2])]), 6],
    }),
    opCase('slice-step-2', {
      sampleDims: [12],
      build: (m) => [m.op('Slice', [cube(m), m.ints([0]), m.ints([4]), m.ints([-1]), m.ints([2])]), 6],
    }),
    opCase('slice-reversed', {
      sampleDims: [12],
      build: (m) => [
        m.op('Slice', [cube(m), m.ints([-1]), m.ints([-TO_END]), m.ints([1]), m.ints([-1])]),
        12,
      ],
    }),
    opCase('slice-out-of-range-bounds', {
      sampleDims: [12],
      build: (m) => [m.op('Slice', [cube(m), m.ints([-10, 1]), m.ints([10, 100]), m.ints([1, 2])]), 9],
    }),
    opCase('split-both-outputs', {
      sampleDims: [12],
      build(m) {
        const [first, second] = m.opOutputs('Split', [cube(m), m.ints([1, 3])], { axis: { int: 2 } }, 2);
        return [
          m.op('Concat', [m.op('Tanh', [second]), m.op('Mul', [first, m.scalar(2)])], { axis: { int: 2 } }),
          12,
        ];
      },
    }),
    opCase('split-second-output-only-opset18', {
      sampleDims: [12],
      opset: 18,
      build(m) {
        const pieces = m.opOutputs('Split', [cube(m)], { axis: { int: 1 }, num_outputs: { int: 3 } }, 3);
        return [m.op('Tanh', [pieces[1]]), 4];
      },
    }),
    opCase('expand', {
      sampleDims: [12],
      build(m) {
        const row = m.op('Reshape', [m.op('MatMul', [X, m.weight([12, 4])]), m.ints([-1, 1, 4])]);
        return [m.op('Mul', [m.op('Expand', [row, m.ints([1, 3, 4])]), m.weight([3, 4])]), 12];
      },
    }),
    opCase('unsqueeze-squeeze-axes-inputs', {
      sampleDims: [12],
      build(m) {
        const lifted = m.op('Unsqueeze', [cube(m), m.ints([1, -1])]);
        return [m.op('Squeeze', [m.op('Tanh', [lifted]), m.ints([1, 4])]), 12];
      },
    }),
  ];
}

/**
 * The UnsupportedOpError building the 'ce' gradient model of `bytes` throws, checked to be a
 * TempestInputError that names the op and its node; fails the test when nothing is thrown.
 */
export function unsupportedOpErrorOf(bytes: Uint8Array, opType: string): UnsupportedOpError {
  let error: unknown;
  try {
    buildGradientModel(bytes, 'ce');
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(UnsupportedOpError);
  expect(error).toBeInstanceOf(TempestInputError);
  const unsupported = error as UnsupportedOpError;
  expect(unsupported.opType).toBe(opType);
  expect(unsupported.message).toMatch(new RegExp(`op ${opType} \\(node '${opType.toLowerCase()}\\d+'\\)`));
  return unsupported;
}
