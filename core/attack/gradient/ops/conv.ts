import { kernelOf, windowOf } from '../window';
import type { GradientRule } from './rule';
import { transposeToInput } from './spatial';

/**
 * Conv: the input gradient is the transposed convolution of dy with the same weights and
 * geometry (ConvTranspose's weight layout [C_in, C_out / group, ...] is exactly Conv's
 * [C_out, C_in / group, ...] read the other way). Weights and bias are constants here.
 */
const conv: GradientRule = {
  differentiableInputs: [0, 1, 2],
  backward({ emit, node, shapes, needs }, dy) {
    if (needs(1) || needs(2)) throw node.unsupported('weights or bias depend on the input');
    const kernel = kernelOf(node, shapes.get(node.input(1)));
    if (!kernel)
      throw node.unsupported('the kernel shape is neither an attribute nor known from the weights');
    const x = node.input(0);
    const window = windowOf(node, kernel, shapes.get(x)?.slice(2));
    return [transposeToInput(emit, dy, node.input(1), window, emit.dims(x, 2), node.int('group', 1))];
  },
};

export const convRules: Readonly<Record<string, GradientRule>> = { Conv: conv };
