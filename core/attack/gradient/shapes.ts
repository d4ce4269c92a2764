import type { ForwardNode } from './graph';
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

  constructor(
    /** Values of small constant int64 tensors (initializers, Constant nodes), e.g. Reshape targets. */
    private readonly int64Constants: ReadonlyMap<string, readonly number[]>,
  ) {}

  get(name: string): StaticShape | undefined {
    return this.shapes.get(name);
  }

  set(name: string, shape: StaticShape | undefined): void {
    if (shape) this.shapes.set(name, shape);
  }

  rank(name: string): number | undefined {
    return this.shapes.get(name)?.length;
  }

  /** Infer the outputs of one node from its inputs (nodes must be visited in topological order). */
  infer(node: ForwardNode): void {
    const input = (index: number) => this.get(node.input(index));
    this.set(node.outputs[0], this.outputShape(node, input));
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
        return x;
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
      case 'Reshape':
        return reshapeShape(x, this.int64Constants.get(node.input(1)), node.int('allowzero', 0) === 1);
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
