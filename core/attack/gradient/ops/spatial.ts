import type { GraphEmitter } from '../emitter';
import type { Window } from '../window';

export function windowAttributes(window: Window) {
  return {
    kernel_shape: { ints: window.kernel },
    strides: { ints: window.strides },
    dilations: { ints: window.dilations },
  };
}

/** Extra end padding that makes a floor-mode window count reach the ceil-mode count (then sliced). */
export function ceilModePadsEnd(window: Window): number[] {
  return window.padsEnd.map((pad, axis) => pad + window.strides[axis] - 1);
}

/** Axes 2.. of a rank-(2 + spatial) tensor. */
export function spatialAxes(spatialRank: number): number[] {
  return Array.from({ length: spatialRank }, (_, axis) => axis + 2);
}

/**
 * The adjoint of a strided window op: ConvTranspose of the output gradient (without pads), which
 * yields the gradient over the padded input as far as windows reached, then padded with zeros at
 * the end (rows no window reached) and cropped by the begin pads to exactly `targetSpatial`.
 * Doing this with run-time shapes avoids output_padding arithmetic and works for any input size.
 */
export function transposeToInput(
  emit: GraphEmitter,
  gradient: string,
  weight: string,
  window: Window,
  targetSpatial: string,
  group = 1,
): string {
  const rank = window.kernel.length;
  const full = emit.op('ConvTranspose', [gradient, weight], {
    ...windowAttributes(window),
    ...(group === 1 ? {} : { group: { int: group } }),
  });
  const padded = emit.add(
    targetSpatial,
    emit.int64s(window.padsBegin.map((pad, axis) => pad + window.padsEnd[axis])),
  );
  const missing = emit.op('Max', [emit.sub(padded, emit.dims(full, 2)), emit.int64s([0])]);
  const pads = emit.op('Concat', [emit.int64s(new Array<number>(rank + 4).fill(0)), missing], {
    axis: { int: 0 },
  });
  const extended = emit.op('Pad', [full, pads]);
  const ends = emit.add(targetSpatial, emit.int64s(window.padsBegin));
  return emit.op('Slice', [extended, emit.int64s(window.padsBegin), ends, emit.int64s(spatialAxes(rank))]);
}

/** Weights [kernel size, 1, ...kernel]: filter k picks the k-th position of the window. */
export function windowPositionFilters(kernel: readonly number[]): { dims: number[]; data: Float32Array } {
  const size = kernel.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size * size);
  for (let position = 0; position < size; position++) data[position * size + position] = 1;
  return { dims: [size, 1, ...kernel], data };
}
