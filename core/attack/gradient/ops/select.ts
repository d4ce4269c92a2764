import { onnx } from 'onnx-proto';
import { FLOAT, type GraphEmitter } from '../emitter';
import type { ForwardNode } from '../graph';
import { normalizeAxis } from '../shapes';
import { reduceToShape } from './broadcast';
import { gradientsFor, type GradientRule } from './rule';

const INT64 = onnx.TensorProto.DataType.INT64;

function staticRank(node: ForwardNode, rank: number | undefined): number {
  if (rank === undefined) throw node.unsupported('the rank of its input is not known statically');
  return rank;
}

/**
 * The adjoint of picking positions `positions` (int64 [K], in [0, D)) along `axis` of a tensor whose
 * size there is `size` ([1]): dy (that axis of length K) times the one-hot matrix [K, D] over that
 * axis. Exact: every entry is a sum of dy values times 1 (and zeros), so repeated positions add.
 */
function scatterAlong(
  emit: GraphEmitter,
  dy: string,
  positions: string,
  size: string,
  axis: number,
  rank: number,
): string {
  const columns = emit.op('Range', [emit.int64Scalar(0), emit.squeeze(size, [0]), emit.int64Scalar(1)]);
  const oneHot = emit.cast(emit.op('Equal', [emit.unsqueeze(positions, [1]), columns]), FLOAT);
  if (axis === rank - 1) return emit.op('MatMul', [dy, oneHot]);
  // Move the axis last, contract it with the one-hot matrix, move it back.
  const perm = [...Array(rank).keys()].filter((a) => a !== axis).concat(axis);
  const inverse = new Array<number>(rank);
  perm.forEach((a, position) => (inverse[a] = position));
  const last = emit.op('Transpose', [dy], { perm: { ints: perm } });
  return emit.op('Transpose', [emit.op('MatMul', [last, oneHot])], { perm: { ints: inverse } });
}

/**
 * Gather along `axis` with any indices (constants or computed; negative ones count from the end):
 * dy has the indices' dims in place of the axis; flattened to one axis of K positions, it is
 * scattered back by scatterAlong.
 */
const gather: GradientRule = {
  differentiableInputs: [0],
  backward({ emit, node, shapes }, dy) {
    const x = node.input(0);
    const rank = staticRank(node, shapes.rank(x));
    const axis = normalizeAxis(node.int('axis', 0), rank);
    const size = emit.dims(x, axis, axis + 1);
    const flat = emit.op('Reshape', [emit.cast(node.input(1), INT64), emit.int64s([-1])]);
    const positions = emit.op('Where', [
      emit.op('Less', [flat, emit.int64Scalar(0)]),
      emit.add(flat, size),
      flat,
    ]);
    const grouped = emit.op('Reshape', [
      dy,
      emit.op('Concat', [emit.dims(x, 0, axis), emit.int64s([-1]), emit.dims(x, axis + 1)], {
        axis: { int: 0 },
      }),
    ]);
    return [scatterAlong(emit, grouped, positions, size, axis, rank)];
  },
};

/**
 * Slice, one sliced axis at a time (slicing is separable). ORT's own Slice of Range(0, D) gives the
 * positions the slice read, so negative, clamped and out-of-range bounds mean exactly what they
 * meant forward. A step of 1 (static) reads a contiguous run: dy is zero-padded back to D; any
 * other step is scattered back by the one-hot contraction.
 */
const slice: GradientRule = {
  differentiableInputs: [0],
  backward({ emit, node, shapes }, dy) {
    const x = node.input(0);
    const rank = staticRank(node, shapes.rank(x));
    const starts = node.input(1);
    const count = shapes.get(starts)?.[0];
    const axes = node.input(3)
      ? shapes.constantInts(node.input(3))
      : typeof count === 'number'
        ? [...Array(count).keys()]
        : undefined;
    if (!axes) throw node.unsupported('axes computed at run time');
    const steps = node.input(4) ? shapes.constantInts(node.input(4)) : axes.map(() => 1);
    const element = (tensor: string, k: number) => emit.slice(tensor, [k], [k + 1], [0]);
    let gradient = dy;
    axes.forEach((rawAxis, k) => {
      const axis = normalizeAxis(rawAxis, rank);
      const size = emit.dims(x, axis, axis + 1);
      const range = emit.op('Range', [emit.int64Scalar(0), emit.squeeze(size, [0]), emit.int64Scalar(1)]);
      const bounds = [element(starts, k), element(node.input(2), k), emit.int64s([0])];
      if (steps?.[k] === 1) {
        const positions = emit.op('Slice', [range, ...bounds]);
        // The first position read (D when none is: then dy is empty along the axis).
        const begin = emit.op('ReduceMin', [emit.op('Concat', [positions, size], { axis: { int: 0 } })], {
          keepdims: { int: 1 },
        });
        const after = emit.sub(emit.sub(size, begin), emit.shape(positions));
        const zeros = (length: number) =>
          length > 0 ? [emit.int64s(new Array<number>(length).fill(0))] : [];
        const pads = emit.op(
          'Concat',
          [...zeros(axis), begin, ...zeros(rank - 1), after, ...zeros(rank - 1 - axis)],
          { axis: { int: 0 } },
        );
        gradient = emit.op('Pad', [gradient, pads]);
      } else {
        const step = node.input(4) ? element(node.input(4), k) : emit.int64s([1]);
        const positions = emit.op('Slice', [range, ...bounds, step]);
        gradient = scatterAlong(emit, gradient, positions, size, axis, rank);
      }
    });
    return [gradient];
  },
};

/** Split: the outputs' gradients concatenated along the axis, zeros for outputs nothing uses. */
const split: GradientRule = {
  differentiableInputs: [0],
  multipleOutputs: true,
  backward({ emit, node, outputGradient }) {
    const pieces = node.outputs.map(
      (output, index) => outputGradient(index) ?? emit.op('ConstantOfShape', [emit.shape(output)]),
    );
    return [emit.op('Concat', pieces, { axis: { int: node.int('axis', 0) } })];
  },
};

/** Expand broadcasts its input: the gradient is dy summed back to the input's shape. */
const expand: GradientRule = {
  differentiableInputs: [0],
  backward: (context, dy) => {
    const { emit, node, shapes } = context;
    return gradientsFor(context, 1, () =>
      reduceToShape(emit, dy, shapes.get(node.outputs[0]), node.input(0), shapes.get(node.input(0))),
    );
  },
};

export const selectRules: Readonly<Record<string, GradientRule>> = {
  Gather: gather,
  Slice: slice,
  Split: split,
  Expand: expand,
};
