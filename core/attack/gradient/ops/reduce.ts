import { FLOAT } from '../emitter';
import { normalizeAxis } from '../shapes';
import type { GradientRule } from './rule';

/**
 * ReduceSum and ReduceMean: every input of a reduced group gets the group's dy (divided by the
 * group size for the mean). The axes come from the attribute (ReduceMean before opset 18) or a
 * constant input (ReduceSum since 13, ReduceMean since 18); none means all axes, unless
 * noop_with_empty_axes makes the op the identity. Without keepdims, dy first gets its reduced
 * axes back as 1s, then Expand broadcasts it to the input's shape.
 */
function reduceRule(mean: boolean): GradientRule {
  return {
    differentiableInputs: [0],
    backward({ emit, node, shapes }, dy) {
      const axes = shapes.reduceAxes(node);
      if (!axes) throw node.unsupported('axes computed at run time');
      if (axes.length === 0 && node.int('noop_with_empty_axes', 0) === 1) return [dy];
      const [x, y] = [node.input(0), node.outputs[0]];
      let kept = dy;
      if (node.int('keepdims', 1) === 0 && axes.length > 0) {
        const rank = shapes.rank(x);
        if (rank === undefined && axes.some((axis) => axis < 0)) {
          throw node.unsupported('negative axes of an input whose rank is not known statically');
        }
        const restored = axes.map((axis) => normalizeAxis(axis, rank ?? 0)).sort((a, b) => a - b);
        kept = emit.unsqueeze(dy, restored);
      }
      if (mean) kept = emit.div(kept, groupSize(emit, shapes.get(x), shapes.get(y), x, y));
      return [emit.op('Expand', [kept, emit.shape(x)])];
    },
  };
}

/** Inputs per output of a reduction: a constant when both sizes are static, else Size(x) / Size(y). */
function groupSize(
  emit: Parameters<GradientRule['backward']>[0]['emit'],
  xShape: readonly (number | string | null)[] | undefined,
  yShape: readonly (number | string | null)[] | undefined,
  x: string,
  y: string,
): string {
  const size = (shape: typeof xShape) =>
    shape?.every((dim) => typeof dim === 'number')
      ? (shape as number[]).reduce((a, b) => a * b, 1)
      : undefined;
  const [xSize, ySize] = [size(xShape), size(yShape)];
  if (xSize !== undefined && ySize !== undefined && ySize > 0) return emit.floatScalar(xSize / ySize);
  return emit.cast(emit.div(emit.op('Size', [x]), emit.op('Size', [y])), FLOAT);
}

export const reduceRules: Readonly<Record<string, GradientRule>> = {
  ReduceSum: reduceRule(false),
  ReduceMean: reduceRule(true),
};
