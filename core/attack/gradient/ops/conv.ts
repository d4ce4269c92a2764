import { transposeToInput, windowOf } from './spatial';
import type { GradientRule } from './rule';

/**
 * Conv: the input gradient is the transposed convolution of dy with the same weights and
 * geometry (ConvTranspose's weight layout [C_in, C_out / group, ...] is exactly Conv's
 * [C_out, C_in / group, ...] read the other way). Weights and bias are constants here.
 */
const conv: GradientRule = {
  differentiableInputs: [0, 1, 2],
  backward({ emit, node, shapes, needs }, dy) {
    if (needs(1) || needs(2)) throw node.unsupported('weights or bias depend on the input');
    const weightShape = shapes.get(node.input(1));
    const kernel =
      node.ints('kernel_shape') ??
      (weightShape?.slice(2).every((dim) => typeof dim === 'number')
        ? (weightShape.slice(2) as number[])
        : undefined);
    if (!kernel)
      throw node.unsupported('the kernel shape is neither an attribute nor known from the weights');
    const x = node.input(0);
    return [
      transposeToInput(
        emit,
        dy,
        node.input(1),
        windowOf(node, kernel),
        emit.dims(x, 2),
        node.int('group', 1),
      ),
    ];
  },
};

export const convRules: Readonly<Record<string, GradientRule>> = { Conv: conv };
