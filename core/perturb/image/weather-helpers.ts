/**
 * Primitives of the ImageNet-C weather corruptions (snow, frost, fog, spatter) that the shared
 * filters.ts does not have: the reference implementation (imagecorruptions 1.1.2) calls OpenCV's
 * Canny, distanceTransform, equalizeHist and blur for spatter, and SciPy's zoom without the final
 * crop for snow. Each is reimplemented here from OpenCV's published algorithm, integer and
 * float32 steps included, and was checked during development to give OpenCV 5.0's bytes on random
 * inputs (Canny, distanceTransform, equalizeHist, both box blurs). A plane is one channel,
 * row-major, `height * width` values.
 */
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import type { PhiloxStream } from '../../rng/philox';
import { borderIndex, roundHalfEven } from './filters';

/** The reference's next_power_of_2 (1 for 0, otherwise the smallest power of two >= n). */
export function nextPowerOfTwo(n: number): number {
  let power = 1;
  while (power < n) power *= 2;
  return power;
}

/**
 * Fill `out` with normals N(mean, sd^2) in index order, one open uniform each through the normal
 * quantile, as gaussian_noise draws them: a plane of H x W normals is H x W draws of the stream.
 */
export function fillNormal(stream: PhiloxStream, mean: number, sd: number, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = normalQuantile(stream.uniformOpen(), mean, sd);
}

/**
 * Sums over every 3 x 3 neighbourhood, borders BORDER_REFLECT_101: cv2.blur(src, (3, 3)) before
 * its division by 9, which the callers do with the rounding of the reference's data type.
 */
export function boxSum3x3(src: ArrayLike<number>, height: number, width: number, out: Float64Array): void {
  for (let y = 0; y < height; y++) {
    const above = borderIndex(y - 1, height, 'reflect101') * width;
    const row = y * width;
    const below = borderIndex(y + 1, height, 'reflect101') * width;
    for (let x = 0; x < width; x++) {
      const left = borderIndex(x - 1, width, 'reflect101');
      const right = borderIndex(x + 1, width, 'reflect101');
      out[row + x] =
        src[above + left] +
        src[above + x] +
        src[above + right] +
        src[row + left] +
        src[row + x] +
        src[row + right] +
        src[below + left] +
        src[below + x] +
        src[below + right];
    }
  }
}

/** tan(22.5 deg) = sqrt(2) - 1 in OpenCV's Canny fixed point (15 fractional bits): 13573. */
const CANNY_TAN_22_5 = Math.round((Math.SQRT2 - 1) * (1 << 15));

/**
 * cv2.Canny(src, low, high) with its defaults (3 x 3 Sobel, L1 magnitude |dx| + |dy|): Sobel
 * derivatives with replicated borders; non-maximum suppression across the gradient direction,
 * quantized to 0/45/90/135 degrees with OpenCV's integer tangent test and its tie rule (strictly
 * greater than the neighbour behind, at least the one ahead; strictly greater than both on
 * diagonals); hysteresis: local maxima above `high` seed edges, which grow through 8-connected
 * local maxima above `low`. Writes 255 on edges and 0 elsewhere.
 */
export function cannyEdges(
  src: Uint8Array,
  height: number,
  width: number,
  low: number,
  high: number,
  out: Uint8Array,
): void {
  const lowThreshold = Math.floor(low);
  const highThreshold = Math.floor(high);
  // One frame of padding everywhere: the source replicated (Sobel's border), magnitude 0 and
  // "cannot be an edge" in the map (the suppression's border).
  const stride = width + 2;
  const padded = new Uint8Array(stride * (height + 2));
  for (let y = -1; y <= height; y++) {
    const row = Math.min(height - 1, Math.max(0, y)) * width;
    const target = (y + 1) * stride;
    padded[target] = src[row];
    padded.set(src.subarray(row, row + width), target + 1);
    padded[target + width + 1] = src[row + width - 1];
  }
  const magnitude = new Int32Array(stride * (height + 2));
  const gradientX = new Int32Array(stride * (height + 2));
  const gradientY = new Int32Array(stride * (height + 2));
  for (let y = 1; y <= height; y++) {
    for (let at = y * stride + 1, end = at + width; at < end; at++) {
      const dx =
        padded[at - stride + 1] -
        padded[at - stride - 1] +
        2 * (padded[at + 1] - padded[at - 1]) +
        padded[at + stride + 1] -
        padded[at + stride - 1];
      const dy =
        padded[at + stride - 1] -
        padded[at - stride - 1] +
        2 * (padded[at + stride] - padded[at - stride]) +
        padded[at + stride + 1] -
        padded[at - stride + 1];
      gradientX[at] = dx;
      gradientY[at] = dy;
      magnitude[at] = Math.abs(dx) + Math.abs(dy);
    }
  }
  const NOT_EDGE = 1;
  const WEAK = 0;
  const STRONG = 2;
  const map = new Uint8Array(stride * (height + 2)).fill(NOT_EDGE);
  const stack = new Int32Array(stride * (height + 2));
  let stackSize = 0;
  for (let y = 1; y <= height; y++) {
    for (let at = y * stride + 1, end = at + width; at < end; at++) {
      const m = magnitude[at];
      if (m <= lowThreshold) continue;
      const gx = gradientX[at];
      const gy = gradientY[at];
      const ax = Math.abs(gx);
      const ayShifted = Math.abs(gy) * (1 << 15);
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
  const neighbours = [-1, 1, -stride - 1, -stride, -stride + 1, stride - 1, stride, stride + 1];
  while (stackSize > 0) {
    const at = stack[--stackSize];
    for (const offset of neighbours) {
      if (map[at + offset] === WEAK) {
        map[at + offset] = STRONG;
        stack[stackSize++] = at + offset;
      }
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] = map[(y + 1) * stride + x + 1] === STRONG ? 255 : 0;
  }
}

/** OpenCV's 5 x 5 chamfer weights for DIST_L2 (Borgefors), as float32 (OpenCV 5 sums in float32). */
const CHAMFER_STEP = 1;
const CHAMFER_DIAGONAL = Math.fround(1.4);
const CHAMFER_KNIGHT = Math.fround(2.1969);
/** OpenCV's initial distance, FLT_MAX: what pixels of an image without zero pixels keep. */
const CHAMFER_FAR = 3.4028234663852886e38;

/**
 * cv2.distanceTransform(src, DIST_L2, 5): for every non-zero pixel, the distance to the nearest
 * zero pixel along paths of 5 x 5 chamfer steps (1, 1.4 and 2.1969 for a knight's move), in
 * OpenCV's two passes and float32 sums. Exact for straight runs, within about 2% of the Euclidean
 * distance in other directions; the reference uses this approximation, so Tempest does too.
 */
export function chamferDistance(src: Uint8Array, height: number, width: number, out: Float32Array): void {
  const border = 2;
  const stride = width + 2 * border;
  const distance = new Float32Array(stride * (height + 2 * border)).fill(CHAMFER_FAR);
  const origin = border * stride + border;
  const f32 = Math.fround;
  for (let y = 0; y < height; y++) {
    let at = origin + y * stride;
    for (let x = 0; x < width; x++, at++) {
      if (src[y * width + x] === 0) {
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
    for (let x = width - 1; x >= 0; x--, at--) {
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
      out[y * width + x] = best;
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
