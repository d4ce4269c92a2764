import { toNumber, type ForwardNode } from './graph';
import { kernelOf, windowOf, windowOutputDims } from './window';

/**
 * A tensor's rank and what is known of its dims: a number, a symbol (a named run-time size such as
 * the batch axis 'N': two dims with the same symbol are equal), or null (unknown).
 */
export type StaticDim = number | string | null;
export type StaticShape = readonly StaticDim[];

/**
 * Best-effort static shape inference over the supported ops. The gradient rules use it only to
 * skip work that is provably unnecessary (reducing a gradient over axes that were never
 * broadcast) and to learn ranks; whatever stays unknown is handled at run time with Shape ops, so
 * an imprecise answer here costs speed, never correctness.
 */
export class StaticShapes {
  private readonly shapes = new Map<string, StaticShape>();
  private readonly int64Constants: Map<string, readonly number[]>;

  constructor(
    /** Values of small constant int64 tensors (initializers, Constant nodes), e.g. Reshape targets. */
    int64Constants: ReadonlyMap<string, readonly number[]>,
  ) {
    this.int64Constants = new Map(int64Constants);
  }

  get(name: string): StaticShape | undefined {
    return this.shapes.get(name);
  }

  set(name: string, shape: StaticShape | undefined): void {
    if (shape) this.shapes.set(name, shape);
  }

  rank(name: string): number | undefined {
    return this.shapes.get(name)?.length;
  }

  /** The values of a small constant int64 tensor (axes, starts, Reshape targets), if it is one. */
  constantInts(name: string): readonly number[] | undefined {
    return this.int64Constants.get(name);
  }

  /** Infer the outputs of one node from its inputs (nodes must be visited in topological order). */
  infer(node: ForwardNode): void {
    const input = (index: number) => this.get(node.input(index));
    if (node.opType === 'Split') {
      splitShapes(node, input(0), this.splitSizes(node)).forEach((shape, index) =>
        this.set(node.outputs[index], shape),
      );
      return;
    }
    this.set(node.outputs[0], this.outputShape(node, input));
    const folded = this.foldInt64(node);
    if (folded) this.int64Constants.set(node.outputs[0], folded);
  }

  /**
   * The values of an integer computation on constants (exporters compute Reshape targets and Slice
   * bounds with Mod, Add, Concat... of constants, and of Shape where every dim is static), so that
   * the shapes and ranks after it stay known. Only small int64 vectors; anything else: undefined.
   */
  private foldInt64(node: ForwardNode): readonly number[] | undefined {
    if (node.opType === 'Shape') {
      const x = this.get(node.input(0));
      if (!x || !x.every((dim) => typeof dim === 'number')) return undefined;
      const rank = x.length;
      const clamp = (axis: number) => Math.min(Math.max(normalizeAxis(axis, rank), 0), rank);
      return (x as number[]).slice(clamp(node.int('start', 0)), clamp(node.int('end', rank)));
    }
    const values = node.inputs.map((name) => (name ? this.int64Constants.get(name) : undefined));
    const [a, b] = values;
    if (!a || values.some((value, index) => node.input(index) && !value)) return undefined;
    const elementwise = (f: (x: number, y: number) => number) =>
      b && (a.length === b.length || a.length === 1 || b.length === 1)
        ? Array.from({ length: Math.max(a.length, b.length) }, (_, i) =>
            f(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]),
          )
        : undefined;
    switch (node.opType) {
      case 'Identity':
      case 'Reshape':
      case 'Unsqueeze':
      case 'Squeeze':
        return a;
      case 'Cast':
        return node.int('to', 0) === 7 ? a : undefined;
      case 'Add':
        return elementwise((x, y) => x + y);
      case 'Sub':
        return elementwise((x, y) => x - y);
      case 'Mul':
        return elementwise((x, y) => x * y);
      case 'Div':
        return elementwise((x, y) => (y === 0 ? NaN : Math.trunc(x / y)));
      case 'Mod':
        return node.int('fmod', 0) === 1
          ? undefined
          : elementwise((x, y) => (y === 0 ? NaN : ((x % y) + y) % y));
      case 'Concat':
        return values.flatMap((value) => [...(value ?? [])]);
      case 'Gather': {
        if (!b || node.int('axis', 0) !== 0) return undefined;
        return b.map((index) => a[index < 0 ? index + a.length : index]);
      }
      default:
        return undefined;
    }
  }

  /** Axes of a Reduce* node: its `axes` input (a constant) or attribute; [] = all; undefined = unknown. */
  reduceAxes(node: ForwardNode): readonly number[] | undefined {
    if (node.input(1)) return this.constantInts(node.input(1));
    return node.ints('axes') ?? [];
  }

  /** Sizes of Split's outputs along its axis, where known from the `split` input or attribute. */
  splitSizes(node: ForwardNode): readonly number[] | undefined {
    return node.input(1) ? this.constantInts(node.input(1)) : node.ints('split');
  }

  private outputShape(
    node: ForwardNode,
    input: (index: number) => StaticShape | undefined,
  ): StaticShape | undefined {
    const x = input(0);
    switch (node.opType) {
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        return broadcastShapes([x, input(1)]);
      case 'Equal':
      case 'Pow':
        return broadcastShapes([x, input(1)]);
      case 'Where':
        return broadcastShapes([x, input(1), input(2)]);
      case 'Relu':
      case 'LeakyRelu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Softmax':
      case 'LogSoftmax':
      case 'Identity':
      case 'Dropout':
      case 'Clip':
      case 'BatchNormalization':
      case 'LayerNormalization':
      case 'HardSigmoid':
      case 'HardSwish':
      case 'Erf':
      case 'Gelu':
      case 'Sqrt':
      case 'Exp':
      case 'Log':
      case 'Neg':
      case 'Abs':
      case 'Reciprocal':
      case 'Cast':
        return x;
      case 'Shape':
        return x ? [shapeLength(node, x.length)] : undefined;
      case 'Size':
        return [];
      case 'Constant':
        return constantShape(node);
      case 'Gather': {
        const indices = input(1);
        if (!x || !indices) return undefined;
        const axis = normalizeAxis(node.int('axis', 0), x.length);
        return [...x.slice(0, axis), ...indices, ...x.slice(axis + 1)];
      }
      case 'Unsqueeze': {
        const axes = this.constantInts(node.input(1)) ?? node.ints('axes');
        if (!x || !axes) return undefined;
        const rank = x.length + axes.length;
        const inserted = new Set(axes.map((axis) => normalizeAxis(axis, rank)));
        const rest = [...x];
        return Array.from({ length: rank }, (_, axis) => (inserted.has(axis) ? 1 : (rest.shift() ?? null)));
      }
      case 'Squeeze': {
        const axes = node.input(1) ? this.constantInts(node.input(1)) : (node.ints('axes') ?? []);
        if (!x || !axes) return undefined;
        if (axes.length === 0)
          return x.every((dim) => typeof dim === 'number') ? x.filter((d) => d !== 1) : undefined;
        const removed = new Set(axes.map((axis) => normalizeAxis(axis, x.length)));
        return x.filter((_, axis) => !removed.has(axis));
      }
      case 'Slice':
        return this.sliceShape(node, x);
      case 'Expand': {
        const target = this.constantInts(node.input(1));
        if (target) return broadcastShapes([x, target]);
        const length = input(1)?.[0];
        return x && typeof length === 'number'
          ? new Array<StaticDim>(Math.max(x.length, length)).fill(null)
          : undefined;
      }
      case 'ConstantOfShape': {
        const target = this.constantInts(node.input(0));
        if (target) return target;
        const length = x?.[0];
        return typeof length === 'number' ? new Array<StaticDim>(length).fill(null) : undefined;
      }
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax':
      case 'ReduceMin': {
        const axes = this.reduceAxes(node);
        if (!x || !axes) return undefined;
        const keep = node.int('keepdims', 1) === 1;
        const all = axes.length === 0 && node.int('noop_with_empty_axes', 0) === 0;
        if (axes.length === 0 && !all) return x;
        const reduced = new Set(all ? x.keys() : axes.map((axis) => normalizeAxis(axis, x.length)));
        return keep
          ? x.map((dim, axis) => (reduced.has(axis) ? 1 : dim))
          : x.filter((_, axis) => !reduced.has(axis));
      }
      case 'Gemm': {
        const b = input(1);
        if (!x || !b) return [null, null];
        return [node.int('transA', 0) ? x[1] : x[0], node.int('transB', 0) ? b[0] : b[1]];
      }
      case 'MatMul':
        return matMulShape(x, input(1));
      case 'Flatten': {
        if (!x) return [null, null];
        const axis = normalizeAxis(node.int('axis', 1), x.length);
        return [product(x.slice(0, axis)), product(x.slice(axis))];
      }
      case 'Reshape': {
        const target = this.int64Constants.get(node.input(1));
        // A target computed at run time still has a static length: the output's rank.
        const length = input(1)?.[0];
        if (!target) return typeof length === 'number' ? new Array<StaticDim>(length).fill(null) : undefined;
        return reshapeShape(x, target, node.int('allowzero', 0) === 1);
      }
      case 'Transpose': {
        if (!x) return undefined;
        const perm = node.ints('perm') ?? x.map((_, index) => x.length - 1 - index);
        return perm.map((axis) => x[axis]);
      }
      case 'Concat':
        return concatShape(node, [...node.inputs.keys()].map(input));
      case 'Conv':
      case 'MaxPool':
      case 'AveragePool': {
        if (!x) return undefined;
        const channels = node.opType === 'Conv' ? (input(1)?.[0] ?? null) : x[1];
        return [x[0], channels, ...this.windowOutput(node, x, input(1))];
      }
      case 'GlobalAveragePool':
        return x ? [x[0], x[1], ...x.slice(2).map(() => 1)] : undefined;
      default:
        return undefined;
    }
  }

  /** Slice keeps the rank; a sliced dim is known when its size and the slice's bounds are constants. */
  private sliceShape(node: ForwardNode, x: StaticShape | undefined): StaticShape | undefined {
    if (!x) return undefined;
    const starts = this.constantInts(node.input(1));
    const ends = this.constantInts(node.input(2));
    const axes = node.input(3) ? this.constantInts(node.input(3)) : starts?.map((_, axis) => axis);
    const steps = node.input(4) ? this.constantInts(node.input(4)) : starts?.map(() => 1);
    if (!axes) return x.map(() => null);
    const dims = [...x];
    axes.forEach((rawAxis, k) => {
      const axis = normalizeAxis(rawAxis, x.length);
      const size = x[axis];
      dims[axis] =
        starts && ends && steps && typeof size === 'number'
          ? slicedLength(size, starts[k], ends[k], steps[k])
          : null;
    });
    return dims;
  }

  /** Spatial output dims of a Conv or pool, null where unknown (or where the window is refused). */
  private windowOutput(node: ForwardNode, x: StaticShape, weight: StaticShape | undefined): StaticDim[] {
    const spatial = x.slice(2);
    const kernel = kernelOf(node, weight);
    if (!kernel) return spatial.map(() => null);
    try {
      return windowOutputDims(node, windowOf(node, kernel, spatial), spatial);
    } catch {
      return spatial.map(() => null);
    }
  }
}

export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Shape's output length: the rank, or the [start, end) part of it (opset 15). */
function shapeLength(node: ForwardNode, rank: number): number {
  const clamp = (axis: number) => Math.min(Math.max(normalizeAxis(axis, rank), 0), rank);
  return Math.max(clamp(node.int('end', rank)) - clamp(node.int('start', 0)), 0);
}

function constantShape(node: ForwardNode): StaticShape | undefined {
  const attribute = node.proto.attribute?.[0];
  switch (attribute?.name) {
    case 'value':
      return attribute.t ? (attribute.t.dims ?? []).map(toNumber) : undefined;
    case 'value_ints':
      return [attribute.ints?.length ?? 0];
    case 'value_floats':
      return [attribute.floats?.length ?? 0];
    case 'value_int':
    case 'value_float':
      return [];
    default:
      return undefined;
  }
}

/** Numpy slicing of one axis of size `size` (ONNX Slice: negative bounds count from the end, then clamp). */
function slicedLength(size: number, start: number, end: number, step: number): number {
  const bound = (value: number, low: number, high: number) => {
    const shifted = value < 0 ? value + size : value;
    return Math.min(Math.max(shifted, low), high);
  };
  if (step > 0) return Math.max(Math.ceil((bound(end, 0, size) - bound(start, 0, size)) / step), 0);
  return Math.max(Math.ceil((bound(end, -1, size - 1) - bound(start, -1, size - 1)) / step), 0);
}

function splitShapes(
  node: ForwardNode,
  x: StaticShape | undefined,
  sizes: readonly number[] | undefined,
): (StaticShape | undefined)[] {
  const count = node.outputs.length;
  if (!x) return new Array<undefined>(count).fill(undefined);
  const axis = normalizeAxis(node.int('axis', 0), x.length);
  const size = x[axis];
  const pieces =
    sizes ??
    (typeof size === 'number' && size % count === 0
      ? new Array<number>(count).fill(size / count)
      : undefined);
  return Array.from({ length: count }, (_, index) =>
    x.map((dim, a) => (a === axis ? (pieces?.[index] ?? null) : dim)),
  );
}

function product(dims: StaticShape): number | null {
  return dims.every((dim) => typeof dim === 'number') ? (dims as number[]).reduce((a, b) => a * b, 1) : null;
}

/**
 * Numpy broadcasting. A known size above 1 wins (any other dim must be 1 or equal to it in a
 * valid model); 1s drop out; what remains is a symbol if all agree, else unknown.
 */
function broadcastShapes(shapes: readonly (StaticShape | undefined)[]): StaticShape | undefined {
  if (shapes.some((shape) => !shape)) return undefined;
  const known = shapes as StaticShape[];
  const rank = Math.max(...known.map((shape) => shape.length));
  return Array.from({ length: rank }, (_, axis) => {
    const dims = known
      .filter((shape) => axis >= rank - shape.length)
      .map((shape) => shape[axis - (rank - shape.length)])
      .filter((dim) => dim !== 1);
    const big = dims.find((dim) => typeof dim === 'number');
    if (big !== undefined) return big;
    if (dims.length === 0) return 1;
    return dims.every((dim) => dim !== null && dim === dims[0]) ? dims[0] : null;
  });
}

function matMulShape(a: StaticShape | undefined, b: StaticShape | undefined): StaticShape | undefined {
  if (!a || !b) return undefined;
  if (a.length === 1 && b.length === 1) return [];
  if (b.length === 1) return a.slice(0, -1);
  if (a.length === 1) return [...b.slice(0, -2), b[b.length - 1]];
  const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
  return batch ? [...batch, a[a.length - 2], b[b.length - 1]] : undefined;
}

function reshapeShape(
  x: StaticShape | undefined,
  target: readonly number[] | undefined,
  allowZero: boolean,
): StaticShape | undefined {
  if (!target) return undefined;
  const dims: StaticDim[] = target.map((dim, axis) => (dim === 0 && !allowZero ? (x?.[axis] ?? null) : dim));
  const inferred = dims.indexOf(-1);
  if (inferred < 0) return dims;
  const total = x ? product(x) : null;
  const rest = product(dims.filter((_, axis) => axis !== inferred));
  dims[inferred] = total !== null && rest !== null && rest > 0 ? total / rest : null;
  return dims;
}

function concatShape(
  node: ForwardNode,
  shapes: readonly (StaticShape | undefined)[],
): StaticShape | undefined {
  const first = shapes[0];
  if (!first || shapes.some((shape) => !shape || shape.length !== first.length)) return undefined;
  const axis = normalizeAxis(node.int('axis', 0), first.length);
  const sizes = shapes.map((shape) => shape![axis]);
  const total = sizes.every((size) => typeof size === 'number') ? sizes.reduce((a, b) => a + b, 0) : null;
  return first.map((dim, index) => (index === axis ? total : dim));
}
