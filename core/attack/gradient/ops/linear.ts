import type { EmitAttribute } from '../emitter';
import type { StaticShape } from '../shapes';
import { reduceToShape, unbroadcast } from './broadcast';
import { gradientsFor, type BackwardContext, type GradientRule } from './rule';

/**
 * Gemm: y = alpha op(A) op(B) + beta C, op = optional transpose. Each operand's gradient is one
 * Gemm again, with the transposes arranged so that no Transpose node is needed:
 *   dA = alpha dy op(B)^T      (transA = 0)    dA = alpha op(B) dy^T     (transA = 1)
 *   dB = alpha op(A)^T dy      (transB = 0)    dB = alpha dy^T op(A)     (transB = 1)
 */
const gemm: GradientRule = {
  differentiableInputs: [0, 1, 2],
  backward(context, dy) {
    const { emit, node } = context;
    const transA = node.int('transA', 0);
    const transB = node.int('transB', 0);
    const alpha = node.float('alpha', 1);
    const scaled: Record<string, EmitAttribute> = alpha === 1 ? {} : { alpha: { float: alpha } };
    const gemmOf = (a: string, b: string, ta: number, tb: number) =>
      emit.op('Gemm', [a, b], { ...scaled, transA: { int: ta }, transB: { int: tb } });
    const [a, b] = [node.input(0), node.input(1)];
    return gradientsFor(context, node.inputs.length, (index) => {
      if (index === 0) return transA ? gemmOf(b, dy, transB, 1) : gemmOf(dy, b, 0, 1 - transB);
      if (index === 1) return transB ? gemmOf(dy, a, 1, transA) : gemmOf(a, dy, 1 - transA, 0);
      const beta = node.float('beta', 1);
      return unbroadcast(context, beta === 1 ? dy : emit.mul(dy, emit.floatScalar(beta)), 2);
    });
  },
};

/** Swap the last two axes of a tensor of the given rank. */
function transposeLast(context: BackwardContext, x: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return context.emit.op('Transpose', [x], { perm: { ints: perm } });
}

/**
 * MatMul with numpy semantics: batched over leading axes (broadcast), with 1-D operands
 * promoted to a row (A) or a column (B) and the promoted axis dropped from the result.
 */
const matMul: GradientRule = {
  differentiableInputs: [0, 1],
  backward(context, dy) {
    const { emit, node, shapes } = context;
    const [a, b] = [node.input(0), node.input(1)];
    const [aShape, bShape] = [shapes.get(a), shapes.get(b)];
    if (!aShape || !bShape) throw node.unsupported('the operand ranks could not be inferred statically');
    if (aShape.length === 2 && bShape.length === 2) {
      const gemmOf = (x: string, y: string, ta: number, tb: number) =>
        emit.op('Gemm', [x, y], { transA: { int: ta }, transB: { int: tb } });
      return gradientsFor(context, 2, (index) => (index === 0 ? gemmOf(dy, b, 0, 1) : gemmOf(a, dy, 1, 0)));
    }
    // Promote 1-D operands so both are matrices (stacks), as MatMul does, then undo it.
    const aMatrix = aShape.length === 1 ? emit.unsqueeze(a, [0]) : a;
    const bMatrix = bShape.length === 1 ? emit.unsqueeze(b, [1]) : b;
    const aRank = Math.max(2, aShape.length);
    const bRank = Math.max(2, bShape.length);
    const aPromoted: StaticShape = aShape.length === 1 ? [1, aShape[0]] : aShape;
    const bPromoted: StaticShape = bShape.length === 1 ? [bShape[0], 1] : bShape;
    let dyMatrix = dy;
    if (aShape.length === 1) dyMatrix = emit.unsqueeze(dyMatrix, [-2]);
    if (bShape.length === 1) dyMatrix = emit.unsqueeze(dyMatrix, [-1]);
    const outputShape = shapes.get(node.outputs[0]);
    const batch = outputShape
      ? outputShape.slice(
          0,
          outputShape.length - (aShape.length === 1 ? 0 : 1) - (bShape.length === 1 ? 0 : 1),
        )
      : undefined;
    return gradientsFor(context, 2, (index) => {
      const [product, promoted, own, ownShape] =
        index === 0
          ? [emit.op('MatMul', [dyMatrix, transposeLast(context, bMatrix, bRank)]), aPromoted, a, aShape]
          : [emit.op('MatMul', [transposeLast(context, aMatrix, aRank), dyMatrix]), bPromoted, b, bShape];
      // A promoted operand's extra axis (the row of A, the column of B) has size 1: drop it.
      const isVector = ownShape.length === 1;
      const gradient = isVector ? emit.squeeze(product, [index === 0 ? -2 : -1]) : product;
      const core = isVector ? ownShape : promoted.slice(-2);
      return reduceToShape(emit, gradient, batch ? [...batch, ...core] : undefined, own, ownShape);
    });
  },
};

export const linearRules: Readonly<Record<string, GradientRule>> = { Gemm: gemm, MatMul: matMul };
