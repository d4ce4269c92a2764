import { onnx } from 'onnx-proto';

/**
 * Builds ONNX ModelProto bytes from plain typed descriptions. Everything that reaches the bytes
 * comes from the description or from the fixed constants below (no timestamps, no host
 * byte order), so the same description always encodes to the same sha256: models built here can
 * be pinned by hash in specs and in provenance.
 */

/** IR version 7 is the one that goes with opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
export const DEFAULT_OPSET = 13;
export const PRODUCER_NAME = 'tempest';
/** A builder version rather than the package version: model bytes change only when this encoder's output does. */
export const PRODUCER_VERSION = 'onnx-builder/1';

/** Tempest's naming convention for classifiers: one input batch in, one row of logits per sample out. */
export const CLASSIFIER_INPUT = 'input';
export const CLASSIFIER_OUTPUT = 'logits';

export type ElementType = 'float32' | 'int64';

/** A fixed size, or a symbolic name such as 'N' for the batch axis. */
export type Dim = number | string;

export interface ValueSpec {
  readonly name: string;
  readonly type: ElementType;
  readonly shape: readonly Dim[];
}

/** A constant tensor; Float32Array becomes a float32 initializer, BigInt64Array an int64 one. */
export interface InitializerSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

/** JS numbers do not say whether they are ints or floats, so attributes name their ONNX type. */
export type AttributeValue =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly string: string };

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface ModelSpec {
  readonly graphName?: string;
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly initializers?: readonly InitializerSpec[];
  readonly nodes: readonly NodeSpec[];
  /** Version of the default ('ai.onnx') operator set. */
  readonly opset?: number;
}

const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

const ELEMENT_TYPES: Record<ElementType, onnx.TensorProto.DataType> = {
  float32: DataType.FLOAT,
  int64: DataType.INT64,
};

function valueInfo(value: ValueSpec): onnx.IValueInfoProto {
  return {
    name: value.name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[value.type],
        shape: {
          dim: value.shape.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })),
        },
      },
    },
  };
}

/** raw_data is little-endian by the ONNX spec whatever the host is, hence DataView with explicit endianness. */
function rawLittleEndian(data: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.length * data.BYTES_PER_ELEMENT);
  const view = new DataView(bytes.buffer);
  if (data instanceof Float32Array) {
    data.forEach((value, index) => view.setFloat32(index * 4, value, true));
  } else {
    data.forEach((value, index) => view.setBigInt64(index * 8, value, true));
  }
  return bytes;
}

function tensor(initializer: InitializerSpec): onnx.ITensorProto {
  const size = initializer.dims.reduce((product, dim) => product * dim, 1);
  if (size !== initializer.data.length) {
    throw new Error(
      `onnx initializer '${initializer.name}': dims [${initializer.dims.join(', ')}] need ${size} elements, got ${initializer.data.length}`,
    );
  }
  return {
    name: initializer.name,
    dims: [...initializer.dims],
    dataType: initializer.data instanceof Float32Array ? DataType.FLOAT : DataType.INT64,
    rawData: rawLittleEndian(initializer.data),
  };
}

function checkedInt(value: number, where: string): number {
  if (!Number.isSafeInteger(value))
    throw new Error(`onnx attribute ${where}: expected an integer, got ${value}`);
  return value;
}

function attribute(name: string, value: AttributeValue, nodeLabel: string): onnx.IAttributeProto {
  const where = `'${name}' of ${nodeLabel}`;
  if ('int' in value) return { name, type: AttributeType.INT, i: checkedInt(value.int, where) };
  if ('ints' in value)
    return { name, type: AttributeType.INTS, ints: value.ints.map((v) => checkedInt(v, where)) };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: [...value.floats] };
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) };
}

function node(spec: NodeSpec): onnx.INodeProto {
  const label = `node '${spec.name ?? spec.opType}'`;
  return {
    opType: spec.opType,
    input: [...spec.inputs],
    output: [...spec.outputs],
    ...(spec.name === undefined ? {} : { name: spec.name }),
    ...(spec.domain === undefined ? {} : { domain: spec.domain }),
    attribute: Object.entries(spec.attributes ?? {}).map(([name, value]) => attribute(name, value, label)),
  };
}

/** Encode a single-graph model; the bytes depend on nothing but `spec`. */
export function buildModel(spec: ModelSpec): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    producerName: PRODUCER_NAME,
    producerVersion: PRODUCER_VERSION,
    opsetImport: [{ domain: '', version: spec.opset ?? DEFAULT_OPSET }],
    graph: {
      name: spec.graphName ?? 'tempest',
      node: spec.nodes.map(node),
      initializer: (spec.initializers ?? []).map(tensor),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A one-Gemm classifier, logits = input · weight + bias, with `weight` given as rows
 * [inFeatures][outFeatures]: small enough to check a runner against logits computed by hand.
 */
export function buildLinearModel(
  weight: readonly (readonly number[])[],
  bias: readonly number[],
): Uint8Array {
  const inFeatures = weight.length;
  const outFeatures = bias.length;
  weight.forEach((row, index) => {
    if (row.length !== outFeatures) {
      throw new Error(
        `linear model: weight row ${index} has ${row.length} entries, the bias has ${outFeatures}`,
      );
    }
  });
  return buildModel({
    graphName: 'linear',
    inputs: [{ name: CLASSIFIER_INPUT, type: 'float32', shape: ['N', inFeatures] }],
    outputs: [{ name: CLASSIFIER_OUTPUT, type: 'float32', shape: ['N', outFeatures] }],
    initializers: [
      { name: 'weight', dims: [inFeatures, outFeatures], data: Float32Array.from(weight.flat()) },
      { name: 'bias', dims: [outFeatures], data: Float32Array.from(bias) },
    ],
    nodes: [
      {
        opType: 'Gemm',
        name: 'linear',
        inputs: [CLASSIFIER_INPUT, 'weight', 'bias'],
        outputs: [CLASSIFIER_OUTPUT],
      },
    ],
  });
}

/**
 * The encoders behind buildModel, for code that edits decoded models (the gradient-graph builder)
 * and must write attributes and constants exactly as models built here do.
 */
export function encodeAttribute(
  name: string,
  value: AttributeValue,
  nodeLabel: string,
): onnx.IAttributeProto {
  return attribute(name, value, nodeLabel);
}

export function encodeInitializer(initializer: InitializerSpec): onnx.ITensorProto {
  return tensor(initializer);
}
