import type { GraphEmitter } from '../emitter';
import type { StaticShape } from '../shapes';
import type { BackwardContext } from './rule';

/**
 * Sum a gradient of the node's output back to the shape of its input `index`, undoing numpy
 * broadcasting.
 */
export function unbroadcast(context: BackwardContext, gradient: string, index: number): string {
  const { node, shapes, emit } = context;
  const input = node.input(index);
  return reduceToShape(emit, gradient, shapes.get(node.outputs[0]), input, shapes.get(input));
}

/**
 * Sum `gradient` (of shape `gradientShape`, a broadcast of the target's shape) down to the shape
 * of tensor `target`. When static shapes settle every axis this is at most a ReduceSum and a
 * Reshape (often nothing); otherwise the broadcast axes are found at run time from Shape tensors.
 */
export function reduceToShape(
  emit: GraphEmitter,
  gradient: string,
  gradientShape: StaticShape | undefined,
  target: string,
  targetShape: StaticShape | undefined,
): string {
  const axes = gradientShape && targetShape ? broadcastAxes(targetShape, gradientShape) : undefined;
  if (axes === undefined) return runtimeReduceToShape(emit, gradient, target);
  const reduced = axes.length > 0 ? emit.reduceSum(gradient, axes, true) : gradient;
  return targetShape!.length === gradientShape!.length
    ? reduced
    : emit.op('Reshape', [reduced, emit.shape(target)]);
}

/**
 * Output axes the operand was broadcast along, or undefined when static shapes cannot tell (an
 * operand dim that is unknown, or a symbol the output dim is not known to equal).
 */
function broadcastAxes(operand: StaticShape, output: StaticShape): number[] | undefined {
  const axes: number[] = [];
  const lead = output.length - operand.length;
  for (let axis = 0; axis < output.length; axis++) {
    const dim = axis < lead ? 1 : operand[axis - lead];
    const out = output[axis];
    if (dim !== null && dim === out) continue;
    // Reducing a size-1 axis is harmless, so a 1 against an unknown output dim is reduced too.
    if (dim === 1) axes.push(axis);
    else if (typeof dim !== 'number') return undefined;
  }
  return axes;
}

function runtimeReduceToShape(emit: GraphEmitter, gradient: string, operand: string): string {
  const outputShape = emit.shape(gradient);
  const operandShape = emit.shape(operand);
  // Left-pad the operand's shape with ones to the output's rank, as broadcasting does.
  const missingRank = emit.sub(emit.shape(outputShape), emit.shape(operandShape));
  const ones = emit.op('ConstantOfShape', [missingRank], { value: { tensor: BigInt64Array.of(1n) } });
  const padded = emit.op('Concat', [ones, operandShape], { axis: { int: 0 } });
  // Broadcast axes: operand dim 1 (or missing) where the output's is larger.
  const stretched = emit.op('Less', [padded, outputShape]);
  const axes = emit.op('Reshape', [emit.op('NonZero', [stretched]), emit.int64s([-1])]);
  const reduced = emit.op('ReduceSum', [gradient, axes], {
    keepdims: { int: 1 },
    noop_with_empty_axes: { int: 1 },
  });
  return emit.op('Reshape', [reduced, operandShape]);
}
