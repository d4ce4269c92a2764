import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { forEachPlane, mapImages } from './layout';

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
  apply(batch, params, context) {
    let plan: PixelatePlan | undefined;
    return mapImages(batch, context, 'pixelate', (image, output) => {
      if (!plan || plan.height !== image.height || plan.width !== image.width) {
        plan = planPixelate(image.height, image.width, params.scale);
      }
      const pixelPlan = plan;
      forEachPlane(image, output, (input, out) => pixelatePlane(input, out, pixelPlan));
    });
  },
};

/**
 * One channel: box-average each input row over the small columns' bands, then those row
 * averages over the small rows' bands, then copy the small image back up by nearest neighbour.
 */
function pixelatePlane(input: Float32Array, output: Float32Array, plan: PixelatePlan): void {
  const { height, width, rowSum, small } = plan;
  const { boxStart: columnStart, boxCount: columnCount, nearest: nearestColumn } = plan.columns;
  const { boxStart: rowStart, boxCount: rowCount, nearest: nearestRow } = plan.rows;
  const smallWidth = columnCount.length;
  const smallHeight = rowCount.length;
  for (let y = 0; y < height; y++) {
    const inputRow = y * width;
    const sumRow = y * smallWidth;
    for (let j = 0; j < smallWidth; j++) {
      const start = inputRow + columnStart[j];
      const end = start + columnCount[j];
      let sum = 0;
      for (let x = start; x < end; x++) sum += input[x];
      rowSum[sumRow + j] = sum / columnCount[j];
    }
  }
  for (let i = 0; i < smallHeight; i++) {
    const first = rowStart[i];
    const last = first + rowCount[i];
    const smallRow = i * smallWidth;
    for (let j = 0; j < smallWidth; j++) {
      let sum = 0;
      for (let y = first; y < last; y++) sum += rowSum[y * smallWidth + j];
      small[smallRow + j] = sum / rowCount[i];
    }
  }
  for (let y = 0; y < height; y++) {
    const smallRow = nearestRow[y] * smallWidth;
    const outputRow = y * width;
    for (let x = 0; x < width; x++) output[outputRow + x] = small[smallRow + nearestColumn[x]];
  }
}

/** Per-axis index tables of one image size, shared by all images of a batch. */
interface PixelatePlan {
  readonly height: number;
  readonly width: number;
  readonly rows: AxisPlan;
  readonly columns: AxisPlan;
  /** Row-pass scratch: every input row, box-averaged to the small width. */
  readonly rowSum: Float64Array;
  /** The small image of one channel. */
  readonly small: Float64Array;
}

interface AxisPlan {
  /** First input index and number of input pixels averaged into each small pixel. */
  readonly boxStart: Int32Array;
  readonly boxCount: Int32Array;
  /** Small-image index that each output pixel copies. */
  readonly nearest: Int32Array;
}

function planPixelate(height: number, width: number, scale: number): PixelatePlan {
  const rows = planAxis(height, Math.max(1, Math.floor(height * scale)));
  const columns = planAxis(width, Math.max(1, Math.floor(width * scale)));
  const smallHeight = rows.boxCount.length;
  const smallWidth = columns.boxCount.length;
  return {
    height,
    width,
    rows,
    columns,
    rowSum: new Float64Array(height * smallWidth),
    small: new Float64Array(smallHeight * smallWidth),
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
  return { boxStart, boxCount, nearest };
}
