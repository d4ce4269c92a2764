import { normalizeAxis } from '../shapes';
import { gradientsFor, type GradientRule } from './rule';

/** Flatten, Reshape, Squeeze and Unsqueeze only move values: the gradient is dy in the input's (run-time) shape. */
const reshapeBack: GradientRule = {
  differentiableInputs: [0],
  backward: ({ emit, node }, dy) => [emit.op('Reshape', [dy, emit.shape(node.input(0))])],
};

const transpose: GradientRule = {
  differentiableInputs: [0],
  backward({ emit, node }, dy) {
    const perm = node.ints('perm');
    // Without perm, Transpose reverses the axes, which is its own inverse.
    if (!perm) return [emit.op('Transpose', [dy])];
    const inverse = new Array<number>(perm.length);
    perm.forEach((axis, position) => (inverse[axis] = position));
    return [emit.op('Transpose', [dy], { perm: { ints: inverse } })];
  },
};

/** Concat: split dy along the axis into pieces the sizes of the inputs. */
const concat: GradientRule = {
  differentiableInputs: 'all',
  backward(context, dy) {
    const { emit, node, shapes } = context;
    const axis = node.int('axis', 0);
    const rank = shapes.rank(node.outputs[0]);
    const staticSizes = node.inputs.map((input) =>
      rank === undefined ? undefined : shapes.get(input)?.[normalizeAxis(axis, rank)],
    );
    const sizes = staticSizes.every((size) => typeof size === 'number')
      ? emit.int64s(staticSizes)
      : emit.op(
          'Concat',
          node.inputs.map((input) => emit.op('Gather', [emit.shape(input), emit.int64s([axis])])),
          { axis: { int: 0 } },
        );
    const pieces = emit.ops('Split', [dy, sizes], node.inputs.length, { axis: { int: axis } });
    return gradientsFor(context, node.inputs.length, (index) => pieces[index]);
  },
};

export const shapeRules: Readonly<Record<string, GradientRule>> = {
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
};
