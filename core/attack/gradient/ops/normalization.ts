import { normalizeAxis } from '../shapes';
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

/**
 * LayerNormalization (opset 17) over the axes from `axis` to the last, y = xhat scale + bias with
 * xhat = (x - mean) invStd: dx = invStd (g - mean(g) - xhat mean(g xhat)), g = dy scale, means over
 * the normalized axes. Mean and InvStdDev are the forward node's own optional outputs (added to it
 * if the model left them out), so the statistics are exactly the ones the forward pass used.
 */
const layerNormalization: GradientRule = {
  differentiableInputs: [0, 1, 2],
  backward({ emit, node, shapes, needs, forwardOutput }, dy) {
    if (needs(1) || needs(2)) throw node.unsupported('scale or bias depend on the input');
    const x = node.input(0);
    const rank = shapes.rank(x);
    if (rank === undefined) throw node.unsupported('the rank of its input is not known statically');
    const first = normalizeAxis(node.int('axis', -1), rank);
    const axes = Array.from({ length: rank - first }, (_, k) => first + k);
    const [mean, invStd] = [forwardOutput(1), forwardOutput(2)];
    const normalized = emit.mul(emit.sub(x, mean), invStd);
    const g = emit.mul(dy, node.input(1));
    const centered = emit.sub(g, emit.reduceMean(g, axes, true));
    const projected = emit.mul(normalized, emit.reduceMean(emit.mul(g, normalized), axes, true));
    return [emit.mul(invStd, emit.sub(centered, projected))];
  },
};

export const normalizationRules: Readonly<Record<string, GradientRule>> = {
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
};
