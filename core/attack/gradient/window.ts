import type { ForwardNode } from './graph';
import type { StaticDim } from './shapes';

/** Sliding-window geometry shared by Conv and the pools, with ONNX defaults filled in. */
export interface Window {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padsBegin: readonly number[];
  readonly padsEnd: readonly number[];
}

/** The kernel's spatial shape: the kernel_shape attribute, else the Conv weight's static dims. */
export function kernelOf(node: ForwardNode, weightShape?: readonly StaticDim[]): number[] | undefined {
  const spatial = weightShape?.slice(2);
  return (
    node.ints('kernel_shape') ?? (spatial?.every((dim) => typeof dim === 'number') ? spatial : undefined)
  );
}

/**
 * The window of a Conv or pool node. auto_pad SAME_UPPER / SAME_LOWER pads depend on the input
 * size, so they are resolved from the input's static spatial dims (refused when unknown).
 */
export function windowOf(
  node: ForwardNode,
  kernel: readonly number[],
  inputSpatial: readonly StaticDim[] | undefined,
): Window {
  const rank = kernel.length;
  const strides = node.ints('strides') ?? kernel.map(() => 1);
  const dilations = node.ints('dilations') ?? kernel.map(() => 1);
  const zeros = kernel.map(() => 0);
  const autoPad = node.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const pads = node.ints('pads');
    return {
      kernel,
      strides,
      dilations,
      padsBegin: pads?.slice(0, rank) ?? zeros,
      padsEnd: pads?.slice(rank) ?? zeros,
    };
  }
  if (autoPad === 'VALID') return { kernel, strides, dilations, padsBegin: zeros, padsEnd: zeros };
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') throw node.unsupported(`auto_pad ${autoPad}`);
  if (!inputSpatial || !inputSpatial.every((dim) => typeof dim === 'number')) {
    throw node.unsupported(`auto_pad ${autoPad} on an input whose spatial size is not known statically`);
  }
  // SAME: output = ceil(input / stride), the total padding split evenly, the odd one at the end
  // (SAME_UPPER) or at the beginning (SAME_LOWER).
  const totals = (inputSpatial as number[]).map((size, axis) => {
    const output = Math.ceil(size / strides[axis]);
    return Math.max(0, (output - 1) * strides[axis] + dilations[axis] * (kernel[axis] - 1) + 1 - size);
  });
  const padsBegin = totals.map((total) =>
    autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2),
  );
  return {
    kernel,
    strides,
    dilations,
    padsBegin,
    padsEnd: totals.map((total, axis) => total - padsBegin[axis]),
  };
}

/** Output spatial dims in floor mode (ceil_mode's count depends on ORT's rules: left unknown). */
export function windowOutputDims(
  node: ForwardNode,
  window: Window,
  inputSpatial: readonly StaticDim[],
): StaticDim[] {
  return inputSpatial.map((size, axis) => {
    if (typeof size !== 'number' || node.int('ceil_mode', 0) !== 0) return null;
    const span = window.dilations[axis] * (window.kernel[axis] - 1) + 1;
    return (
      Math.floor((size + window.padsBegin[axis] + window.padsEnd[axis] - span) / window.strides[axis]) + 1
    );
  });
}
