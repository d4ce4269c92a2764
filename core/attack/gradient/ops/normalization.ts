import type { GradientRule } from './rule';

/**
 * Inference-mode BatchNormalization is a per-channel affine map, y = (x - mean) scale /
 * sqrt(var + eps) + bias, so dx = dy scale / sqrt(var + eps). That is BatchNormalization itself
 * applied to dy with zero mean and bias: one node, exact, and rank-agnostic.
 */
const batchNormalization: GradientRule = {
  differentiableInputs: [0, 1, 2, 3, 4],
  backward({ emit, node, needs }, dy) {
    if ([1, 2, 3, 4].some(needs)) throw node.unsupported('scale, bias, mean or variance depend on the input');
    if (node.int('training_mode', 0) !== 0) throw node.unsupported('training mode (batch statistics)');
    const zeros = emit.op('ConstantOfShape', [emit.shape(node.input(3))]);
    const epsilon = { epsilon: { float: node.float('epsilon', 1e-5) } };
    return [emit.op('BatchNormalization', [dy, node.input(1), zeros, zeros, node.input(4)], epsilon)];
  },
};

export const normalizationRules: Readonly<Record<string, GradientRule>> = {
  BatchNormalization: batchNormalization,
};
