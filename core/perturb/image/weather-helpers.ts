/**
 * Primitives of the ImageNet-C weather corruptions (snow, frost, fog, spatter) that the shared
 * filters.ts does not have: the reference implementation (imagecorruptions 1.1.2) calls OpenCV's
 * Canny, distanceTransform, equalizeHist and blur for spatter, and SciPy's zoom without the final
 * crop for snow. Each is reimplemented here from OpenCV's published algorithm, integer and
 * float32 steps included, and was checked during development to give OpenCV 5.0's bytes on random
 * inputs (Canny, distanceTransform, equalizeHist, both box blurs). A plane is one channel,
 * row-major, `height * width` values.
 */
import { borderIndex, roundHalfEven } from './filters';

/** The reference's next_power_of_2 (1 for 0, otherwise the smallest power of two >= n). */
export function nextPowerOfTwo(n: number): number {
  let power = 1;
  while (power < n) power *= 2;
  return power;
}

/**
 * Sums over every 3 x 3 neighbourhood, borders BORDER_REFLECT_101: cv2.blur(src, (3, 3)) before
 * its division by 9, which the callers do with the rounding of the reference's data type. Each sum
 * is taken in row-major order of the neighbourhood (above-left first, below-right last). Along a
 * row the three columns of the window slide: each step loads only the new right-hand column.
 */
export function boxSum3x3(src: ArrayLike<number>, height: number, width: number, out: Float64Array): void {
  if (width < 2) {
    // A one-pixel-wide plane: reflect101 maps both horizontal neighbours onto the pixel itself.
    for (let y = 0; y < height; y++) {
      const a = src[borderIndex(y - 1, height, 'reflect101')];
      const r = src[y];
      const b = src[borderIndex(y + 1, height, 'reflect101')];
      out[y] = a + a + a + r + r + r + b + b + b;
    }
    return;
  }
  for (let y = 0; y < height; y++) {
    const above = borderIndex(y - 1, height, 'reflect101') * width;
    const row = y * width;
    const below = borderIndex(y + 1, height, 'reflect101') * width;
    // Column -1 reflects to column 1.
    let aboveLeft = src[above + 1];
    let aboveCentre = src[above];
    let rowLeft = src[row + 1];
    let rowCentre = src[row];
    let belowLeft = src[below + 1];
    let belowCentre = src[below];
    for (let x = 0; x < width - 1; x++) {
      const aboveRight = src[above + x + 1];
      const rowRight = src[row + x + 1];
      const belowRight = src[below + x + 1];
      out[row + x] =
        aboveLeft +
        aboveCentre +
        aboveRight +
        rowLeft +
        rowCentre +
        rowRight +
        belowLeft +
        belowCentre +
        belowRight;
      aboveLeft = aboveCentre;
      aboveCentre = aboveRight;
      rowLeft = rowCentre;
      rowCentre = rowRight;
      belowLeft = belowCentre;
      belowCentre = belowRight;
    }
    // Column width reflects to column width - 2, now the left column of the window.
    out[row + width - 1] =
      aboveLeft +
      aboveCentre +
      aboveLeft +
      rowLeft +
      rowCentre +
      rowLeft +
      belowLeft +
      belowCentre +
      belowLeft;
  }
}

/**
 * cv2.filter2D(src, CV_8U, kernel) for a 3 x 3 integer kernel on a uint8 plane (anchor at the
 * centre, BORDER_REFLECT_101): every sum is an integer, so integer arithmetic gives OpenCV's sum
 * exactly in any order, and the saturating cast to uint8 is a clamp to 0..255. The uint8 results
 * are written as float32 values, the array type spatter's next step (boxSum3x3) already reads, so
 * that its loads stay monomorphic.
 */
export function filter3x3Saturate(
  src: Uint8Array,
  height: number,
  width: number,
  kernel: readonly number[],
  out: Float32Array,
): void {
  const [k0, k1, k2, k3, k4, k5, k6, k7, k8] = kernel;
  for (let y = 0; y < height; y++) {
    const above = borderIndex(y - 1, height, 'reflect101') * width;
    const row = y * width;
    const below = borderIndex(y + 1, height, 'reflect101') * width;
    for (let x = 0; x < width; x++) {
      const left = x === 0 ? borderIndex(-1, width, 'reflect101') : x - 1;
      const right = x === width - 1 ? borderIndex(width, width, 'reflect101') : x + 1;
      const sum =
        k0 * src[above + left] +
        k1 * src[above + x] +
        k2 * src[above + right] +
        k3 * src[row + left] +
        k4 * src[row + x] +
        k5 * src[row + right] +
        k6 * src[below + left] +
        k7 * src[below + x] +
        k8 * src[below + right];
      out[row + x] = sum < 0 ? 0 : sum > 255 ? 255 : sum;
    }
  }
}

/** tan(22.5 deg) = sqrt(2) - 1 in OpenCV's Canny fixed point (15 fractional bits): 13573. */
const CANNY_TAN_22_5 = Math.round((Math.SQRT2 - 1) * (1 << 15));

/**
 * Canny's working planes for one image size, kept between calls (spatter calls it once per image
 * of a batch). All are padded by one pixel on every side; the magnitude's frame stays 0.
 */
interface CannyScratch {
  readonly height: number;
  readonly width: number;
  readonly padded: Uint8Array;
  readonly gradientX: Int16Array;
  readonly gradientY: Int16Array;
  readonly magnitude: Int16Array;
  readonly map: Uint8Array;
  readonly stack: Int32Array;
}
let cannyScratch: CannyScratch | undefined;

function cannyScratchFor(height: number, width: number): CannyScratch {
  if (cannyScratch?.height !== height || cannyScratch.width !== width) {
    const size = (width + 2) * (height + 2);
    cannyScratch = {
      height,
      width,
      padded: new Uint8Array(size),
      // |dx|, |dy| <= 4 * 255 and |dx| + |dy| <= 8 * 255 fit 16 bits.
      gradientX: new Int16Array(size),
      gradientY: new Int16Array(size),
      magnitude: new Int16Array(size),
      map: new Uint8Array(size),
      stack: new Int32Array(size),
    };
  }
  return cannyScratch;
}

/**
 * cv2.Canny(src, low, high) with its defaults (3 x 3 Sobel, L1 magnitude |dx| + |dy|): Sobel
 * derivatives with replicated borders; non-maximum suppression across the gradient direction,
 * quantized to 0/45/90/135 degrees with OpenCV's integer tangent test and its tie rule (strictly
 * greater than the neighbour behind, at least the one ahead; strictly greater than both on
 * diagonals); hysteresis: local maxima above `high` seed edges, which grow through 8-connected
 * local maxima above `low`. Writes `edgeValue` (255 by default, as OpenCV) on edges and
 * 255 - edgeValue elsewhere: spatter's 255 - Canny(...) is edgeValue 0.
 */
export function cannyEdges(
  src: Uint8Array,
  height: number,
  width: number,
  low: number,
  high: number,
  out: Uint8Array,
  edgeValue = 255,
): void {
  const lowThreshold = Math.floor(low);
  const highThreshold = Math.floor(high);
  // One frame of padding everywhere: the source replicated (Sobel's border), magnitude 0 and
  // "cannot be an edge" in the map (the suppression's border).
  const stride = width + 2;
  const { padded, gradientX, gradientY, magnitude, map, stack } = cannyScratchFor(height, width);
  for (let y = -1; y <= height; y++) {
    const row = Math.min(height - 1, Math.max(0, y)) * width;
    const target = (y + 1) * stride;
    padded[target] = src[row];
    padded.set(src.subarray(row, row + width), target + 1);
    padded[target + width + 1] = src[row + width - 1];
  }
  for (let y = 1; y <= height; y++) {
    for (let at = y * stride + 1, end = at + width; at < end; at++) {
      const up = at - stride;
      const down = at + stride;
      const dx =
        padded[up + 1] -
        padded[up - 1] +
        2 * (padded[at + 1] - padded[at - 1]) +
        padded[down + 1] -
        padded[down - 1];
      const dy =
        padded[down - 1] -
        padded[up - 1] +
        2 * (padded[down] - padded[up]) +
        padded[down + 1] -
        padded[up + 1];
      gradientX[at] = dx;
      gradientY[at] = dy;
      magnitude[at] = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy);
    }
  }
  const NOT_EDGE = 1;
  const WEAK = 0;
  const STRONG = 2;
  map.fill(NOT_EDGE);
  let stackSize = 0;
  for (let y = 1; y <= height; y++) {
    for (let at = y * stride + 1, end = at + width; at < end; at++) {
      const m = magnitude[at];
      if (m <= lowThreshold) continue;
      const gx = gradientX[at];
      const gy = gradientY[at];
      const ax = gx < 0 ? -gx : gx;
      const ayShifted = (gy < 0 ? -gy : gy) * (1 << 15);
      const tan22x = ax * CANNY_TAN_22_5;
      let isMaximum: boolean;
      if (ayShifted < tan22x) {
        isMaximum = m > magnitude[at - 1] && m >= magnitude[at + 1];
      } else if (ayShifted > tan22x + ax * (1 << 16)) {
        isMaximum = m > magnitude[at - stride] && m >= magnitude[at + stride];
      } else {
        const s = (gx ^ gy) < 0 ? -1 : 1;
        isMaximum = m > magnitude[at - stride - s] && m > magnitude[at + stride + s];
      }
      if (!isMaximum) continue;
      if (m > highThreshold) {
        map[at] = STRONG;
        stack[stackSize++] = at;
      } else {
        map[at] = WEAK;
      }
    }
  }
  // Grow the strong edges through weak neighbours; each pixel is pushed at most once, when it
  // turns from weak to strong, so the stack never outgrows the plane.
  const grow = (at: number): void => {
    if (map[at] === WEAK) {
      map[at] = STRONG;
      stack[stackSize++] = at;
    }
  };
  const background = 255 - edgeValue;
  while (stackSize > 0) {
    const at = stack[--stackSize];
    grow(at - 1);
    grow(at + 1);
    grow(at - stride - 1);
    grow(at - stride);
    grow(at - stride + 1);
    grow(at + stride - 1);
    grow(at + stride);
    grow(at + stride + 1);
  }
  for (let y = 0; y < height; y++) {
    const from = (y + 1) * stride + 1;
    const to = y * width;
    for (let x = 0; x < width; x++) out[to + x] = map[from + x] === STRONG ? edgeValue : background;
  }
}

/** OpenCV's 5 x 5 chamfer weights for DIST_L2 (Borgefors), as float32 (OpenCV 5 sums in float32). */
const CHAMFER_STEP = 1;
const CHAMFER_DIAGONAL = Math.fround(1.4);
const CHAMFER_KNIGHT = Math.fround(2.1969);
/** OpenCV's initial distance, FLT_MAX: what pixels of an image without zero pixels keep. */
const CHAMFER_FAR = 3.4028234663852886e38;

/**
 * The chamfer transform's plane for one image size, padded by 2 on every side; the padding keeps
 * CHAMFER_FAR (neither pass writes it), the interior is rewritten by every call.
 */
let chamferScratch:
  { readonly height: number; readonly width: number; readonly distance: Float32Array } | undefined;

/**
 * cv2.distanceTransform(src, DIST_L2, 5): for every non-zero pixel, the distance to the nearest
 * zero pixel along paths of 5 x 5 chamfer steps (1, 1.4 and 2.1969 for a knight's move), in
 * OpenCV's two passes and float32 sums. Exact for straight runs, within about 2% of the Euclidean
 * distance in other directions; the reference uses this approximation, so Tempest does too.
 * Distances above `cap` are written as `cap` (cv2.threshold(THRESH_TRUNC) after the transform;
 * the transform itself runs uncapped).
 */
export function chamferDistance(
  src: Uint8Array,
  height: number,
  width: number,
  out: Float32Array,
  cap = Infinity,
): void {
  const border = 2;
  const stride = width + 2 * border;
  if (chamferScratch?.height !== height || chamferScratch.width !== width) {
    chamferScratch = {
      height,
      width,
      distance: new Float32Array(stride * (height + 2 * border)).fill(CHAMFER_FAR),
    };
  }
  const { distance } = chamferScratch;
  const origin = border * stride + border;
  const f32 = Math.fround;
  for (let y = 0; y < height; y++) {
    let at = origin + y * stride;
    let from = y * width;
    for (let x = 0; x < width; x++, at++, from++) {
      if (src[from] === 0) {
        distance[at] = 0;
        continue;
      }
      // Each candidate is rounded to float32 before it is compared, as OpenCV's float sums are.
      let best = f32(distance[at - 2 * stride - 1] + CHAMFER_KNIGHT);
      let candidate = f32(distance[at - 2 * stride + 1] + CHAMFER_KNIGHT);
      if (candidate < best) best = candidate;
      candidate = f32(distance[at - stride - 2] + CHAMFER_KNIGHT);
      if (candidate < best) best = candidate;
      candidate = f32(distance[at - stride - 1] + CHAMFER_DIAGONAL);
      if (candidate < best) best = candidate;
      candidate = f32(distance[at - stride] + CHAMFER_STEP);
      if (candidate < best) best = candidate;
      candidate = f32(distance[at - stride + 1] + CHAMFER_DIAGONAL);
      if (candidate < best) best = candidate;
      candidate = f32(distance[at - stride + 2] + CHAMFER_KNIGHT);
      if (candidate < best) best = candidate;
      candidate = f32(distance[at - 1] + CHAMFER_STEP);
      if (candidate < best) best = candidate;
      distance[at] = best;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    let at = origin + y * stride + width - 1;
    let to = y * width + width - 1;
    for (let x = width - 1; x >= 0; x--, at--, to--) {
      let best = distance[at];
      if (best > CHAMFER_STEP) {
        let candidate = f32(distance[at + 2 * stride + 1] + CHAMFER_KNIGHT);
        if (candidate < best) best = candidate;
        candidate = f32(distance[at + 2 * stride - 1] + CHAMFER_KNIGHT);
        if (candidate < best) best = candidate;
        candidate = f32(distance[at + stride + 2] + CHAMFER_KNIGHT);
        if (candidate < best) best = candidate;
        candidate = f32(distance[at + stride + 1] + CHAMFER_DIAGONAL);
        if (candidate < best) best = candidate;
        candidate = f32(distance[at + stride] + CHAMFER_STEP);
        if (candidate < best) best = candidate;
        candidate = f32(distance[at + stride - 1] + CHAMFER_DIAGONAL);
        if (candidate < best) best = candidate;
        candidate = f32(distance[at + stride - 2] + CHAMFER_KNIGHT);
        if (candidate < best) best = candidate;
        candidate = f32(distance[at + 1] + CHAMFER_STEP);
        if (candidate < best) best = candidate;
        distance[at] = best;
      }
      out[to] = best > cap ? cap : best;
    }
  }
}

/**
 * cv2.equalizeHist: map each level through the cumulative histogram, counted from the lowest
 * level present (which maps to 0), scaled by 255 / (pixels - count of that level) in float32 and
 * rounded half to even. An image of one level is returned unchanged, as OpenCV does.
 */
export function equalizeHistogram(src: Uint8Array, out: Uint8Array): void {
  const histogram = new Int32Array(256);
  for (let i = 0; i < src.length; i++) histogram[src[i]]++;
  let lowest = 0;
  while (lowest < 255 && histogram[lowest] === 0) lowest++;
  if (histogram[lowest] === src.length) {
    out.set(src);
    return;
  }
  const scale = Math.fround(255 / (src.length - histogram[lowest]));
  const table = new Uint8Array(256);
  let cumulative = 0;
  for (let level = lowest + 1; level < 256; level++) {
    cumulative += histogram[level];
    table[level] = Math.min(255, roundHalfEven(Math.fround(cumulative * scale)));
  }
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
}
