import { onnx } from 'onnx-proto';
import { encodeAttribute, encodeInitializer, type AttributeValue } from '../../model/onnx-builder';

const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

export const FLOAT = DataType.FLOAT;

/** Largest int64, the usual "to the end" bound of Slice. */
const SLICE_TO_END = Number.MAX_SAFE_INTEGER;

/** Builder attributes plus a tensor value (for ConstantOfShape's fill value). */
export type EmitAttribute = AttributeValue | { readonly tensor: Float32Array | BigInt64Array };

/**
 * Appends nodes and constants to a graph under construction. Names are a counter plus a hint and
 * never collide with the forward graph's names; constants are shared by value. Both depend only
 * on the order of calls, so the same forward graph always yields the same bytes.
 */
export class GraphEmitter {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly constants = new Map<string, string>();
  private readonly shapes = new Map<string, string>();
  private counter = 0;

  constructor(
    /** Every name in use; fresh names are added to it. */
    private readonly taken: Set<string>,
    /** The ai.onnx opset of the graph, for ops whose signature changed (Reduce* axes at 18). */
    readonly opset: number,
  ) {}

  fresh(hint: string): string {
    let name: string;
    do name = `grad/${this.counter++}/${hint}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** One node with `outputCount` fresh outputs. */
  ops(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Readonly<Record<string, EmitAttribute>> = {},
    hint = opType,
  ): string[] {
    const outputs = Array.from({ length: outputCount }, (_, index) =>
      this.fresh(outputCount === 1 ? hint : `${hint}.${index}`),
    );
    this.nodes.push({
      opType,
      name: outputs[0],
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => emitAttribute(name, value, outputs[0])),
    });
    return outputs;
  }

  op(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, EmitAttribute>> = {},
    hint = opType,
  ): string {
    return this.ops(opType, inputs, 1, attributes, hint)[0];
  }

  /** A constant initializer shared by every use of the same value. */
  constant(dims: readonly number[], data: Float32Array | BigInt64Array, hint = 'const'): string {
    // Keyed by the exact bytes, so that 0 and -0 (equal as numbers) stay apart.
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const key = `${data instanceof Float32Array ? 'f' : 'i'}[${dims.join(',')}]${Array.from(bytes).join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(hint);
      this.initializers.push(encodeInitializer({ name, dims, data }));
      this.constants.set(key, name);
    }
    return name;
  }

  int64s(values: readonly number[]): string {
    return this.constant([values.length], BigInt64Array.from(values, BigInt), 'ints');
  }

  int64Scalar(value: number): string {
    return this.constant([], BigInt64Array.of(BigInt(value)), 'int');
  }

  floatScalar(value: number): string {
    return this.constant([], Float32Array.of(value), 'float');
  }

  /** Shape(x), emitted once per tensor. */
  shape(x: string): string {
    let name = this.shapes.get(x);
    if (!name) {
      name = this.op('Shape', [x]);
      this.shapes.set(x, name);
    }
    return name;
  }

  /** Dims [start, end) of x's runtime shape as a 1-D int64 tensor. */
  dims(x: string, start: number, end = SLICE_TO_END): string {
    return this.op('Slice', [this.shape(x), this.int64s([start]), this.int64s([end])]);
  }

  reduceSum(x: string, axes: readonly number[] | string, keepdims: boolean): string {
    const axesInput = typeof axes === 'string' ? axes : this.int64s(axes);
    return this.op('ReduceSum', [x, axesInput], { keepdims: { int: keepdims ? 1 : 0 } });
  }

  /** ReduceMax took its axes as an attribute until opset 18 and as an input since. */
  reduceMax(x: string, axes: readonly number[], keepdims: boolean): string {
    const keep = { keepdims: { int: keepdims ? 1 : 0 } };
    return this.opset >= 18
      ? this.op('ReduceMax', [x, this.int64s(axes)], keep)
      : this.op('ReduceMax', [x], { ...keep, axes: { ints: axes } });
  }

  /** ReduceMean, likewise: axes an attribute until opset 18, an input since. */
  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    const keep = { keepdims: { int: keepdims ? 1 : 0 } };
    return this.opset >= 18
      ? this.op('ReduceMean', [x, this.int64s(axes)], keep)
      : this.op('ReduceMean', [x], { ...keep, axes: { ints: axes } });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.op('Unsqueeze', [x, this.int64s(axes)]);
  }

  squeeze(x: string, axes: readonly number[]): string {
    return this.op('Squeeze', [x, this.int64s(axes)]);
  }

  slice(x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[]): string {
    return this.op('Slice', [x, this.int64s(starts), this.int64s(ends), this.int64s(axes)]);
  }

  cast(x: string, to: onnx.TensorProto.DataType): string {
    return this.op('Cast', [x], { to: { int: to } });
  }

  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }

  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }

  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }

  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }

  neg(a: string): string {
    return this.op('Neg', [a]);
  }

  /** Sum of gradient contributions, in the order given (fixed order: fixed float rounding). */
  sum(terms: readonly string[]): string {
    return terms.reduce((total, term) => this.add(total, term));
  }

  /**
   * `value` where the condition holds, else zero (a gradient mask). A multiplication by the
   * condition as 0/1 rather than Where: ORT's Where is several times slower, and value * 1 is
   * exact (value * 0 gives -0 for negative values, which is still zero).
   */
  maskOrZero(condition: string, value: string): string {
    return this.mul(value, this.cast(condition, FLOAT));
  }
}

function emitAttribute(name: string, value: EmitAttribute, nodeName: string): onnx.IAttributeProto {
  if ('tensor' in value) {
    return {
      name,
      type: AttributeType.TENSOR,
      t: encodeInitializer({ name: `${name}.value`, dims: [1], data: value.tensor }),
    };
  }
  return encodeAttribute(name, value, `node '${nodeName}'`);
}
