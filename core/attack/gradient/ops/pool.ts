import { FLOAT } from '../emitter';
import type { GraphEmitter } from '../emitter';
import type { ForwardNode } from '../graph';
import type { StaticShapes } from '../shapes';
import { windowOf, type Window } from '../window';
import type { GradientRule } from './rule';
import {
  ceilModePadsEnd,
  spatialAxes,
  transposeToInput,
  windowAttributes,
  windowPositionFilters,
} from './spatial';

function poolWindow(node: ForwardNode, shapes: StaticShapes): Window {
  const kernel = node.ints('kernel_shape');
  if (!kernel) throw node.unsupported('no kernel_shape');
  return windowOf(node, kernel, shapes.get(node.input(0))?.slice(2));
}

/**
 * A per-output-position map computed on a single [1, 1, ...spatial] image by a Conv with the
 * pool's geometry; the extra end padding lets it cover ceil_mode's last partial windows, and
 * the slice keeps exactly the pool output's positions.
 */
function windowMap(
  emit: GraphEmitter,
  image: string,
  filters: string,
  window: Window,
  padsBegin: readonly number[],
  padsEnd: readonly number[],
  pooled: string,
): string {
  const rank = window.kernel.length;
  const map = emit.op('Conv', [image, filters], {
    ...windowAttributes(window),
    pads: { ints: [...padsBegin, ...padsEnd] },
  });
  return emit.op('Slice', [
    map,
    emit.int64s(new Array<number>(rank).fill(0)),
    emit.dims(pooled, 2),
    emit.int64s(spatialAxes(rank)),
  ]);
}

/** [N, C, ...] -> [N * C, channels, ...] so that per-channel maps become single-channel convolutions. */
function foldChannels(emit: GraphEmitter, x: string, channels: number, spatialOf: string): string {
  return emit.op('Reshape', [
    x,
    emit.op('Concat', [emit.int64s([-1, channels]), emit.dims(spatialOf, 2)], { axis: { int: 0 } }),
  ]);
}

/**
 * MaxPool: dy goes to the arg max of each window, read from the forward node's Indices output
 * (so ties follow ORT's forward choice, the first maximum). The scatter is exact even where
 * windows overlap: a Conv of the image of (flat position + 1) with one-hot filters gives, for each
 * window and each of its K positions, the input position it reads; comparing with the index
 * splits dy into K maps, and one ConvTranspose with the same one-hot filters adds them back.
 */
const maxPool: GradientRule = {
  differentiableInputs: [0],
  backward({ emit, node, shapes, forwardOutput }, dy) {
    if (node.int('storage_order', 0) !== 0) throw node.unsupported('storage_order 1 (column-major indices)');
    const window = poolWindow(node, shapes);
    const [x, pooled, indices] = [node.input(0), node.outputs[0], forwardOutput(1)];
    const filtersSpec = windowPositionFilters(window.kernel);
    const filters = emit.constant(filtersSpec.dims, filtersSpec.data, 'window_positions');
    const positions = filtersSpec.dims[0];
    const xSpatial = emit.dims(x, 2);
    const planeSize = emit.op('ReduceProd', [xSpatial], { keepdims: { int: 0 } });
    // Flat positions 1..H*W (0 is left for padding); exact in float32 up to 2^24 per plane.
    const counting = emit.op('Range', [
      emit.int64Scalar(1),
      emit.add(planeSize, emit.int64Scalar(1)),
      emit.int64Scalar(1),
    ]);
    const image = emit.op('Reshape', [
      emit.cast(counting, FLOAT),
      emit.op('Concat', [emit.int64s([1, 1]), xSpatial], { axis: { int: 0 } }),
    ]);
    const read = windowMap(emit, image, filters, window, window.padsBegin, ceilModePadsEnd(window), pooled);
    // Indices count over the whole [N, C, ...spatial] tensor: subtract each plane's start
    // ((n C + c) H W, a Sub rather than a much slower int64 Mod) to get the position in the plane.
    const planes = emit.op('Range', [
      emit.int64Scalar(0),
      emit.op('ReduceProd', [emit.dims(x, 0, 2)], { keepdims: { int: 0 } }),
      emit.int64Scalar(1),
    ]);
    const planeShape = emit.op(
      'Concat',
      [emit.dims(x, 0, 2), emit.int64s(new Array<number>(window.kernel.length).fill(1))],
      { axis: { int: 0 } },
    );
    const planeStarts = emit.op('Reshape', [emit.mul(planes, planeSize), planeShape]);
    const argmax = emit.cast(emit.sub(indices, emit.sub(planeStarts, emit.int64Scalar(1))), FLOAT);
    const chosen = emit.op('Equal', [emit.unsqueeze(read, [0]), emit.unsqueeze(argmax, [2])]);
    const split = emit.maskOrZero(chosen, emit.unsqueeze(dy, [2]));
    const back = transposeToInput(
      emit,
      foldChannels(emit, split, positions, pooled),
      filters,
      window,
      xSpatial,
    );
    return [emit.op('Reshape', [back, emit.shape(x)])];
  },
};

/**
 * AveragePool: each window spreads dy / divisor evenly over its inputs. The divisor map is a Conv
 * of ones with the pool's geometry: over the unpadded image when padding is not counted
 * (count_include_pad = 0), over the padded one when it is, and never beyond the padding (as ORT
 * counts ceil_mode's partial windows).
 */
const averagePool: GradientRule = {
  differentiableInputs: [0],
  backward({ emit, node, shapes }, dy) {
    const window = poolWindow(node, shapes);
    const [x, pooled] = [node.input(0), node.outputs[0]];
    const rank = window.kernel.length;
    const size = window.kernel.reduce((a, b) => a * b, 1);
    const ones = emit.constant([1, 1, ...window.kernel], new Float32Array(size).fill(1), 'window_ones');
    const xSpatial = emit.dims(x, 2);
    const countPads = node.int('count_include_pad', 0) !== 0;
    const counted = countPads
      ? emit.add(xSpatial, emit.int64s(window.padsBegin.map((pad, axis) => pad + window.padsEnd[axis])))
      : xSpatial;
    const image = emit.op(
      'ConstantOfShape',
      [emit.op('Concat', [emit.int64s([1, 1]), counted], { axis: { int: 0 } })],
      {
        value: { tensor: Float32Array.of(1) },
      },
    );
    const zeros = new Array<number>(rank).fill(0);
    const divisor = countPads
      ? windowMap(emit, image, ones, window, zeros, ceilModePadsEnd({ ...window, padsEnd: zeros }), pooled)
      : windowMap(emit, image, ones, window, window.padsBegin, ceilModePadsEnd(window), pooled);
    const spread = foldChannels(emit, emit.div(dy, divisor), 1, pooled);
    const back = transposeToInput(emit, spread, ones, window, xSpatial);
    return [emit.op('Reshape', [back, emit.shape(x)])];
  },
};

/** GlobalAveragePool: every input of a channel gets dy / (number of positions). */
const globalAveragePool: GradientRule = {
  differentiableInputs: [0],
  backward({ emit, node }, dy) {
    const x = node.input(0);
    const positions = emit.cast(emit.div(emit.op('Size', [x]), emit.op('Size', [node.outputs[0]])), FLOAT);
    return [emit.op('Expand', [emit.div(dy, positions), emit.shape(x)])];
  },
};

export const poolRules: Readonly<Record<string, GradientRule>> = {
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
};
