import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { makeTensor } from '../../tensor/tensor';
import { imageShapeOf } from './layout';

/** ImageNet-C pixelate: the side of the low-resolution image relative to the input, per severity. */
const SCALE_BY_SEVERITY = [0.6, 0.5, 0.4, 0.3, 0.25] as const;

const PixelateParams = z.object({ scale: z.number().gt(0).max(1) }).strict();
type PixelateParams = z.infer<typeof PixelateParams>;

/**
 * Pixelate: shrink each image to floor(W * scale) x floor(H * scale) with a box filter, then
 * blow it back up to W x H with nearest-neighbour. Follows ImageNet-C's pixelate (Hendrycks &
 * Dietterich 2019; imagecorruptions 1.1.2, scale .6 .5 .4 .3 .25 for severities 1-5), which uses
 * Pillow's resize(BOX) down and resize(NEAREST) up; both steps are Pillow's geometry exactly:
 *  - BOX: output pixel j of an axis covers the input interval centred at (j + 0.5) * in / out with
 *    width in / out, and averages (unweighted) the input pixels whose centres fall in
 *    (centre - width / 2, centre + width / 2]; rows and columns separately.
 *  - NEAREST: output pixel j takes input pixel trunc(step / 2 + j * step), step = in / out, with
 *    the position accumulated by repeated addition as Pillow does (a direct product rounds
 *    differently at exact boundaries, e.g. 16 -> 28 pixels).
 * Deviations: the averages are float64 and the output float32, where Pillow rounds to uint8 after
 * each pass, so values differ from the reference's by at most about 1/255; a side that the scale
 * would shrink to 0 (inputs under 4 pixels) is kept at 1 pixel, where Pillow raises an error.
 */
export const pixelate: PerturbationModule<PixelateParams> = {
  name: 'pixelate',
  version: '1.0.0',
  description: 'Box-filter down to scale x the size, then nearest-neighbour back up',
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), scale .6 .5 .4 .3 .25 for severities 1-5',
  inputKind: 'image',
  stochastic: false,
  params: PixelateParams,
  severityParams(severity: number): PixelateParams {
    return { scale: SCALE_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params) {
    // Not mapImages: its clipping pass costs about as much as the whole corruption, and here it
    // is folded into the upsampling (clip commutes with the averages' float32 rounding and with
    // copying), so the bytes are the same as averaging, upsampling and then clipping.
    const { channels, height, width } = imageShapeOf(batch, 'pixelate');
    const output = makeTensor(batch.dims);
    const plan = planPixelate(height, width, params.scale);
    const pixels = height * width;
    for (let plane = 0; plane < batch.dims[0] * channels; plane++) {
      const start = plane * pixels;
      pixelatePlane(batch.data, output.data, start, plan);
    }
    return output;
  },
};

/**
 * One channel plane at `start` of `input` and `output`. Pillow's separable BOX resize averages
 * each input row over the small columns' bands, then those row means over the small rows' bands;
 * here both happen in one sweep per small row (the row means of its band are accumulated into
 * one small-row buffer, so no intermediate image is stored), with the same float64 operations in
 * the same order: each sum taken in index order, then divided by its count. Bands of up to 4
 * pixels (every ImageNet-C severity on images up to 4 x 224 pixels) take unrolled sums. The small
 * row is clipped to [0, 1] in float32 (clipping commutes with float32 rounding and with copying;
 * `<= 0` turns a -0 into 0, as the sums from 0 of earlier versions did), then blown up to the
 * full width once by nearest neighbour and copied (typed-array set) to each output row taking it.
 */
function pixelatePlane(input: Float32Array, output: Float32Array, start: number, plan: PixelatePlan): void {
  const { width, bandSum, smallRow, expanded } = plan;
  const { boxStart: columnStart, boxCount: columnCount, nearest: nearestColumn } = plan.columns;
  const { boxStart: rowStart, boxCount: rowCount, nearestFirst, nearestCount } = plan.rows;
  const smallWidth = columnCount.length;
  const smallHeight = rowCount.length;
  for (let i = 0; i < smallHeight; i++) {
    const bandRows = rowCount[i];
    const bandOffset = start + rowStart[i] * width;
    for (let j = 0; j < smallWidth; j++) {
      bandSum[j] = rowMean(input, bandOffset + columnStart[j], columnCount[j]);
    }
    for (let k = 1; k < bandRows; k++) {
      const rowOffset = bandOffset + k * width;
      for (let j = 0; j < smallWidth; j++) {
        bandSum[j] += rowMean(input, rowOffset + columnStart[j], columnCount[j]);
      }
    }
    for (let j = 0; j < smallWidth; j++) {
      const mean = bandRows === 1 ? bandSum[j] : bandSum[j] / bandRows;
      smallRow[j] = mean <= 0 ? 0 : mean > 1 ? 1 : mean;
    }
    for (let x = 0; x < width; x++) expanded[x] = smallRow[nearestColumn[x]];
    const first = start + nearestFirst[i] * width;
    for (let k = 0; k < nearestCount[i]; k++) output.set(expanded, first + k * width);
  }
}

/** Mean of the `count` values from `first` (Pillow's band of one row), summed left to right. */
function rowMean(values: Float32Array, first: number, count: number): number {
  if (count === 2) return (values[first] + values[first + 1]) / 2;
  if (count === 1) return values[first];
  if (count === 3) return (values[first] + values[first + 1] + values[first + 2]) / 3;
  if (count === 4) return (values[first] + values[first + 1] + values[first + 2] + values[first + 3]) / 4;
  let sum = 0;
  for (let k = 0; k < count; k++) sum += values[first + k];
  return sum / count;
}

/** Per-axis index tables of one image size, shared by all images of a batch. */
interface PixelatePlan {
  readonly height: number;
  readonly width: number;
  readonly rows: AxisPlan;
  readonly columns: AxisPlan;
  /** One row of the small image: its band's row means summed, then divided. */
  readonly bandSum: Float64Array;
  /** That row divided and clipped to [0, 1], as float32. */
  readonly smallRow: Float32Array;
  /** That row blown up to the full width by nearest neighbour. */
  readonly expanded: Float32Array;
}

interface AxisPlan {
  /** First input index and number of input pixels averaged into each small pixel. */
  readonly boxStart: Int32Array;
  readonly boxCount: Int32Array;
  /** Small-image index that each output pixel copies. */
  readonly nearest: Int32Array;
  /** The run of output pixels that copy each small pixel (`nearest` never decreases). */
  readonly nearestFirst: Int32Array;
  readonly nearestCount: Int32Array;
}

function planPixelate(height: number, width: number, scale: number): PixelatePlan {
  const rows = planAxis(height, Math.max(1, Math.floor(height * scale)));
  const columns = planAxis(width, Math.max(1, Math.floor(width * scale)));
  return {
    height,
    width,
    rows,
    columns,
    bandSum: new Float64Array(columns.boxCount.length),
    smallRow: new Float32Array(columns.boxCount.length),
    expanded: new Float32Array(width),
  };
}

/** Pillow's BOX support and NEAREST positions for one axis of `size` pixels shrunk to `smallSize`. */
function planAxis(size: number, smallSize: number): AxisPlan {
  const boxStart = new Int32Array(smallSize);
  const boxCount = new Int32Array(smallSize);
  const step = size / smallSize;
  const filterScale = Math.max(step, 1);
  const support = filterScale / 2;
  const inverseScale = 1 / filterScale;
  for (let j = 0; j < smallSize; j++) {
    // Pillow's candidate range and box test, in its double arithmetic, so ties at exact
    // half-pixel boundaries fall on the same side as in Pillow.
    const centre = (j + 0.5) * step;
    const candidateEnd = Math.min(Math.trunc(centre + support + 0.5), size);
    let first = -1;
    let count = 0;
    for (let x = Math.max(Math.trunc(centre - support + 0.5), 0); x < candidateEnd; x++) {
      const offset = (x - centre + 0.5) * inverseScale;
      if (offset > -0.5 && offset <= 0.5) {
        if (first < 0) first = x;
        count++;
      }
    }
    boxStart[j] = first;
    boxCount[j] = count;
  }
  const nearest = new Int32Array(size);
  const upStep = smallSize / size;
  let position = upStep * 0.5;
  for (let x = 0; x < size; x++) {
    nearest[x] = Math.min(smallSize - 1, Math.trunc(position));
    position += upStep;
  }
  const nearestFirst = new Int32Array(smallSize);
  const nearestCount = new Int32Array(smallSize);
  for (let x = size - 1; x >= 0; x--) {
    nearestFirst[nearest[x]] = x;
    nearestCount[nearest[x]]++;
  }
  return { boxStart, boxCount, nearest, nearestFirst, nearestCount };
}
