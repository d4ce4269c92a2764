/**
 * Image-plane primitives the ImageNet-C corruptions are built from, each defined as the library
 * the reference implementation (imagecorruptions 1.1.2) calls defines it, so that Tempest's
 * modules follow the published corruptions without SciPy, scikit-image or OpenCV:
 *   - gaussianFilter: scipy.ndimage.gaussian_filter (what skimage.filters.gaussian calls),
 *   - filter2d: cv2.filter2D (correlation, anchor at the kernel centre, BORDER_REFLECT_101),
 *   - gaussianKernelCv: cv2.getGaussianKernel, for cv2.GaussianBlur,
 *   - zoom / clippedZoom: scipy.ndimage.zoom with order=1 and the reference's centre crop,
 *   - motionBlur: the reference's own shift-and-add motion blur,
 *   - plasmaFractal: the reference's diamond-square height map,
 *   - bilinearAt: scipy.ndimage.map_coordinates with order=1.
 * A plane is one channel, row-major, `height * width` float values.
 */
import type { PhiloxStream } from '../../rng/philox';
import { loadCorrelateWasm, type CorrelateWasm } from './correlate-wasm';

/** How indices beyond the edge are mapped back inside [0, n). */
export type BorderMode =
  /** scipy 'nearest' / cv2 BORDER_REPLICATE: a a a | a b c d | d d d */
  | 'nearest'
  /** scipy 'reflect' (half-sample symmetric): b a | a b c d | d c */
  | 'reflect'
  /** cv2 BORDER_REFLECT_101 (whole-sample symmetric): c b | a b c d | c b */
  | 'reflect101';

export function borderIndex(index: number, size: number, mode: BorderMode): number {
  if (index >= 0 && index < size) return index;
  if (size === 1) return 0;
  switch (mode) {
    case 'nearest':
      return index < 0 ? 0 : size - 1;
    case 'reflect': {
      const period = 2 * size;
      const folded = ((index % period) + period) % period;
      return folded < size ? folded : period - 1 - folded;
    }
    case 'reflect101': {
      const period = 2 * size - 2;
      const folded = ((index % period) + period) % period;
      return folded < size ? folded : period - folded;
    }
  }
}

/** scipy.ndimage's 1-D Gaussian: radius int(truncate * sigma + 0.5), weights normalized to sum 1. */
export function gaussianKernel1d(sigma: number, truncate = 4): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const weight = Math.exp((-0.5 * i * i) / (sigma * sigma));
    kernel[i + radius] = weight;
    sum += weight;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return kernel;
}

/** cv2.getGaussianKernel(ksize, sigma) for sigma > 0: centred at (ksize - 1) / 2, normalized. */
export function gaussianKernelCv(size: number, sigma: number): Float64Array {
  const kernel = new Float64Array(size);
  const centre = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    kernel[i] = Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma));
    sum += kernel[i];
  }
  for (let i = 0; i < size; i++) kernel[i] /= sum;
  return kernel;
}

/**
 * Copy `length` values starting at `offset` with stride `stride` into `line`, padded by `radius`
 * on both sides with `mode`'s border values: the filters then run without any per-tap index checks.
 */
function fillPaddedLine(
  src: ArrayLike<number>,
  offset: number,
  stride: number,
  length: number,
  radius: number,
  mode: BorderMode,
  line: Float64Array,
): void {
  for (let i = -radius; i < length + radius; i++)
    line[i + radius] = src[offset + borderIndex(i, length, mode) * stride];
}

/** Scratch plane of separableFilter's row pass, reused between calls (grown when too small). */
let separableScratch = new Float64Array(0);

/**
 * Correlate every row, then every column, with 1-D kernels centred on their middle element. Runs
 * in WebAssembly SIMD where it is available and agrees with the JavaScript passes below (checked
 * once at load); both give the same doubles.
 */
export function separableFilter(
  src: ArrayLike<number>,
  height: number,
  width: number,
  rowKernel: Float64Array,
  columnKernel: Float64Array,
  mode: BorderMode,
  out: Float32Array | Float64Array,
): void {
  if (CORRELATE_WASM !== undefined) {
    separableFilterWasm(CORRELATE_WASM, src, height, width, rowKernel, columnKernel, mode, out);
  } else {
    separableFilterJs(src, height, width, rowKernel, columnKernel, mode, out);
  }
}

/** The JavaScript passes: rows into a scratch plane, then columns. */
export function separableFilterJs(
  src: ArrayLike<number>,
  height: number,
  width: number,
  rowKernel: Float64Array,
  columnKernel: Float64Array,
  mode: BorderMode,
  out: Float32Array | Float64Array,
): void {
  if (separableScratch.length < height * width) separableScratch = new Float64Array(height * width);
  const temp = separableScratch;
  const rowRadius = (rowKernel.length - 1) / 2;
  const columnRadius = (columnKernel.length - 1) / 2;
  const line = new Float64Array(width + 2 * rowRadius);
  const filtered = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    fillPaddedLine(src, y * width, 1, width, rowRadius, mode, line);
    correlateLine(line, rowKernel, width, filtered);
    temp.set(filtered, y * width);
  }
  const rowStart = paddedRowStarts(
    height,
    width,
    columnRadius,
    mode,
    new Int32Array(height + 2 * columnRadius),
  );
  correlateColumns(temp, rowStart, columnKernel, height, width, out);
}

/** rowStart[j]: where padded row j (image row j - radius, mapped by `mode`) starts in a plane. */
function paddedRowStarts(
  height: number,
  width: number,
  radius: number,
  mode: BorderMode,
  rowStart: Int32Array,
): Int32Array {
  for (let j = 0; j < rowStart.length; j++) rowStart[j] = borderIndex(j - radius, height, mode) * width;
  return rowStart;
}

/**
 * The same passes in `wasm`'s memory: both kernels, one padded row, the row-filtered plane, the
 * column pass's row offsets and its output, at 16-byte aligned offsets; rows are padded by
 * fillPaddedLine straight into that memory, and the output is copied out (rounded to float32 by
 * the typed-array copy when `out` is float32, as the JavaScript pass's stores round).
 */
function separableFilterWasm(
  wasm: CorrelateWasm,
  src: ArrayLike<number>,
  height: number,
  width: number,
  rowKernel: Float64Array,
  columnKernel: Float64Array,
  mode: BorderMode,
  out: Float32Array | Float64Array,
): void {
  const rowRadius = (rowKernel.length - 1) / 2;
  const columnRadius = (columnKernel.length - 1) / 2;
  const pixels = height * width;
  const align = (bytes: number) => Math.ceil(bytes / 16) * 16;
  const rowKernelAt = 0;
  const columnKernelAt = rowKernelAt + align(8 * rowKernel.length);
  const lineAt = columnKernelAt + align(8 * columnKernel.length);
  const tempAt = lineAt + align(8 * (width + 2 * rowRadius));
  const rowStartAt = tempAt + align(8 * pixels);
  const outAt = rowStartAt + align(4 * (height + 2 * columnRadius));
  const buffer = wasm.reserve(outAt + 8 * pixels);
  new Float64Array(buffer, rowKernelAt, rowKernel.length).set(rowKernel);
  new Float64Array(buffer, columnKernelAt, columnKernel.length).set(columnKernel);
  const line = new Float64Array(buffer, lineAt, width + 2 * rowRadius);
  for (let y = 0; y < height; y++) {
    fillPaddedLine(src, y * width, 1, width, rowRadius, mode, line);
    wasm.correlateLine(lineAt, rowKernelAt, rowKernel.length, width, tempAt + 8 * y * width);
  }
  paddedRowStarts(
    height,
    width,
    columnRadius,
    mode,
    new Int32Array(buffer, rowStartAt, height + 2 * columnRadius),
  );
  wasm.correlateColumns(tempAt, rowStartAt, columnKernelAt, columnKernel.length, height, width, outAt);
  out.set(new Float64Array(buffer, outAt, pixels));
}

/**
 * WebAssembly's passes if they give the JavaScript passes' doubles on a small plane with both
 * remainders (odd width and height, a row and a column kernel of different lengths), else
 * undefined.
 */
function checkedCorrelateWasm(): CorrelateWasm | undefined {
  const wasm = loadCorrelateWasm();
  if (wasm === undefined) return undefined;
  const height = 13;
  const width = 21;
  const src = Float64Array.from({ length: height * width }, (_, i) => Math.sin(i * 0.7) * 0.5 + 0.5);
  const rowKernel = gaussianKernel1d(1.3);
  const columnKernel = gaussianKernel1d(0.8);
  const expected = new Float64Array(height * width);
  const got = new Float64Array(height * width);
  separableFilterJs(src, height, width, rowKernel, columnKernel, 'reflect', expected);
  separableFilterWasm(wasm, src, height, width, rowKernel, columnKernel, 'reflect', got);
  for (let i = 0; i < got.length; i++) if (!Object.is(got[i], expected[i])) return undefined;
  return wasm;
}

/**
 * The column pass: out[y][x] = sum over k of kernel[k] * temp[row y + k - radius][x], in k order
 * from 0 like correlateLine (so the same floats as filtering each column as a line), computed
 * along rows, eight columns side by side: contiguous reads instead of strided column copies.
 */
function correlateColumns(
  temp: Float64Array,
  rowStart: Int32Array,
  kernel: Float64Array,
  height: number,
  width: number,
  out: Float32Array | Float64Array,
): void {
  const taps = kernel.length;
  for (let y = 0; y < height; y++) {
    const outRow = y * width;
    let x = 0;
    for (; x + 7 < width; x += 8) {
      let acc0 = 0;
      let acc1 = 0;
      let acc2 = 0;
      let acc3 = 0;
      let acc4 = 0;
      let acc5 = 0;
      let acc6 = 0;
      let acc7 = 0;
      for (let k = 0; k < taps; k++) {
        const weight = kernel[k];
        const at = rowStart[y + k] + x;
        acc0 += weight * temp[at];
        acc1 += weight * temp[at + 1];
        acc2 += weight * temp[at + 2];
        acc3 += weight * temp[at + 3];
        acc4 += weight * temp[at + 4];
        acc5 += weight * temp[at + 5];
        acc6 += weight * temp[at + 6];
        acc7 += weight * temp[at + 7];
      }
      out[outRow + x] = acc0;
      out[outRow + x + 1] = acc1;
      out[outRow + x + 2] = acc2;
      out[outRow + x + 3] = acc3;
      out[outRow + x + 4] = acc4;
      out[outRow + x + 5] = acc5;
      out[outRow + x + 6] = acc6;
      out[outRow + x + 7] = acc7;
    }
    for (; x < width; x++) {
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += kernel[k] * temp[rowStart[y + k] + x];
      out[outRow + x] = acc;
    }
  }
}

/**
 * out[i] = sum over k of kernel[k] * line[i + k], for i < length, each sum taken in k order from
 * 0 (so every output is the same float as a plain loop's). Eight outputs are summed side by side:
 * eight independent additions per tap instead of one chain, whose latency bounded the loop.
 */
function correlateLine(line: Float64Array, kernel: Float64Array, length: number, out: Float64Array): void {
  const taps = kernel.length;
  let i = 0;
  for (; i + 7 < length; i += 8) {
    let acc0 = 0;
    let acc1 = 0;
    let acc2 = 0;
    let acc3 = 0;
    let acc4 = 0;
    let acc5 = 0;
    let acc6 = 0;
    let acc7 = 0;
    for (let k = 0; k < taps; k++) {
      const weight = kernel[k];
      const at = i + k;
      acc0 += weight * line[at];
      acc1 += weight * line[at + 1];
      acc2 += weight * line[at + 2];
      acc3 += weight * line[at + 3];
      acc4 += weight * line[at + 4];
      acc5 += weight * line[at + 5];
      acc6 += weight * line[at + 6];
      acc7 += weight * line[at + 7];
    }
    out[i] = acc0;
    out[i + 1] = acc1;
    out[i + 2] = acc2;
    out[i + 3] = acc3;
    out[i + 4] = acc4;
    out[i + 5] = acc5;
    out[i + 6] = acc6;
    out[i + 7] = acc7;
  }
  for (; i < length; i++) {
    let acc = 0;
    for (let k = 0; k < taps; k++) acc += kernel[k] * line[i + k];
    out[i] = acc;
  }
}

/** scipy.ndimage.gaussian_filter of a plane (skimage.filters.gaussian uses mode 'nearest'). */
export function gaussianFilter(
  src: ArrayLike<number>,
  height: number,
  width: number,
  sigma: number,
  out: Float32Array | Float64Array,
  options: { mode?: BorderMode; truncate?: number } = {},
): void {
  const kernel = gaussianKernel1d(sigma, options.truncate ?? 4);
  separableFilter(src, height, width, kernel, kernel, options.mode ?? 'nearest', out);
}

/**
 * cv2.filter2D: correlation with a kernel anchored at its centre, border BORDER_REFLECT_101. The
 * plane is padded once and zero taps are skipped (disk kernels are mostly zeros at the corners);
 * the sum runs over the remaining taps in row-major kernel order.
 */
export function filter2d(
  src: ArrayLike<number>,
  height: number,
  width: number,
  kernel: ArrayLike<number>,
  kernelHeight: number,
  kernelWidth: number,
  out: Float32Array | Float64Array,
): void {
  const anchorY = Math.floor(kernelHeight / 2);
  const anchorX = Math.floor(kernelWidth / 2);
  const paddedWidth = width + kernelWidth - 1;
  const padded = new Float64Array((height + kernelHeight - 1) * paddedWidth);
  for (let y = 0; y < height + kernelHeight - 1; y++) {
    const row = borderIndex(y - anchorY, height, 'reflect101') * width;
    for (let x = 0; x < paddedWidth; x++) {
      padded[y * paddedWidth + x] = src[row + borderIndex(x - anchorX, width, 'reflect101')];
    }
  }
  const offsets: number[] = [];
  const weights: number[] = [];
  for (let ky = 0; ky < kernelHeight; ky++) {
    for (let kx = 0; kx < kernelWidth; kx++) {
      const weight = kernel[ky * kernelWidth + kx];
      if (weight !== 0) {
        offsets.push(ky * paddedWidth + kx);
        weights.push(weight);
      }
    }
  }
  const tapOffsets = Int32Array.from(offsets);
  const tapWeights = Float64Array.from(weights);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = y * paddedWidth + x;
      let acc = 0;
      for (let t = 0; t < tapOffsets.length; t++) acc += tapWeights[t] * padded[base + tapOffsets[t]];
      out[y * width + x] = acc;
    }
  }
}

/**
 * Python's round(): halves go to the even neighbour (scipy sizes zoom outputs with it). Math.round
 * takes halves up; value is a half exactly when Math.round(value) - value is 0.5 (that difference
 * is exact: both are within a factor of two of each other, or the rounded value is 0), and then
 * the even one of rounded - 1 and rounded is taken.
 */
export function roundHalfEven(value: number): number {
  const rounded = Math.round(value);
  if (rounded - value !== 0.5) return rounded;
  const floor = rounded - 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * scipy.ndimage.zoom(order=1) of a plane to `outHeight x outWidth` (scipy's size is
 * round(size * factor)): output pixel o samples input coordinate o * (in - 1) / (out - 1).
 */
export function zoomBilinear(
  src: ArrayLike<number>,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  out: Float32Array | Float64Array,
): void {
  const scaleY = outHeight > 1 ? (height - 1) / (outHeight - 1) : 0;
  const scaleX = outWidth > 1 ? (width - 1) / (outWidth - 1) : 0;
  for (let oy = 0; oy < outHeight; oy++) {
    const y = oy * scaleY;
    const y0 = Math.floor(y);
    const y1 = Math.min(height - 1, y0 + 1);
    const ty = y - y0;
    for (let ox = 0; ox < outWidth; ox++) {
      const x = ox * scaleX;
      const x0 = Math.floor(x);
      const x1 = Math.min(width - 1, x0 + 1);
      const tx = x - x0;
      const top = src[y0 * width + x0] * (1 - tx) + src[y0 * width + x1] * tx;
      const bottom = src[y1 * width + x0] * (1 - tx) + src[y1 * width + x1] * tx;
      out[oy * outWidth + ox] = top * (1 - ty) + bottom * ty;
    }
  }
}

/** A plane together with its size, for steps whose output size differs from their input's. */
export interface Plane {
  readonly data: Float64Array;
  readonly height: number;
  readonly width: number;
}

/**
 * What the reference's clipped_zoom returns: the centre ceil(size / factor) of each axis, zoomed by
 * `factor` with scipy.ndimage.zoom(order=1), of size round(crop * factor) >= size. Unlike
 * clippedZoom it is not cropped back, because snow motion-blurs the whole zoomed layer and
 * crops only afterwards (the blur's replicated edge is the zoomed layer's, not the image's).
 * The zoom is zoomBilinear's arithmetic, reading the crop in place and with each column's
 * interpolation weights computed once; `reuse`, when of the zoomed size, receives the result
 * instead of a new array.
 */
export function zoomCentre(
  src: ArrayLike<number>,
  height: number,
  width: number,
  factor: number,
  reuse?: Float64Array,
): Plane {
  const cropHeight = Math.ceil(height / factor);
  const cropWidth = Math.ceil(width / factor);
  const top = Math.floor((height - cropHeight) / 2);
  const left = Math.floor((width - cropWidth) / 2);
  const zoomedHeight = roundHalfEven(cropHeight * factor);
  const zoomedWidth = roundHalfEven(cropWidth * factor);
  const size = zoomedHeight * zoomedWidth;
  const data = reuse?.length === size ? reuse : new Float64Array(size);
  const scaleY = zoomedHeight > 1 ? (cropHeight - 1) / (zoomedHeight - 1) : 0;
  const scaleX = zoomedWidth > 1 ? (cropWidth - 1) / (zoomedWidth - 1) : 0;
  const left0 = new Int32Array(zoomedWidth);
  const left1 = new Int32Array(zoomedWidth);
  const weight0 = new Float64Array(zoomedWidth);
  const weight1 = new Float64Array(zoomedWidth);
  for (let ox = 0; ox < zoomedWidth; ox++) {
    const x = ox * scaleX;
    const x0 = Math.floor(x);
    const tx = x - x0;
    left0[ox] = left + x0;
    left1[ox] = left + Math.min(cropWidth - 1, x0 + 1);
    weight0[ox] = 1 - tx;
    weight1[ox] = tx;
  }
  for (let oy = 0; oy < zoomedHeight; oy++) {
    const y = oy * scaleY;
    const y0 = Math.floor(y);
    const y1 = Math.min(cropHeight - 1, y0 + 1);
    const ty = y - y0;
    const upper = 1 - ty;
    const row0 = (top + y0) * width;
    const row1 = (top + y1) * width;
    const target = oy * zoomedWidth;
    for (let ox = 0; ox < zoomedWidth; ox++) {
      const a = left0[ox];
      const b = left1[ox];
      const w0 = weight0[ox];
      const w1 = weight1[ox];
      const topValue = src[row0 + a] * w0 + src[row0 + b] * w1;
      const bottomValue = src[row1 + a] * w0 + src[row1 + b] * w1;
      data[target + ox] = topValue * upper + bottomValue * ty;
    }
  }
  return { data, height: zoomedHeight, width: zoomedWidth };
}

/**
 * The reference's clipped_zoom: the centre crop zoomed (zoomCentre), keeping its top-left
 * `height x width` (the zoomed crop is never smaller than the image).
 */
export function clippedZoom(
  src: ArrayLike<number>,
  height: number,
  width: number,
  factor: number,
  out: Float32Array | Float64Array,
): void {
  const zoomed = zoomCentre(src, height, width, factor);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] = zoomed.data[y * zoomed.width + x];
  }
}

/**
 * The reference's motion blur: the average of the plane shifted along a line at `angleDegrees`,
 * shift i weighted by a half-Gaussian N(0, sigma) over i = 0..2*radius, edges replicated; the
 * line stops early where a shift would leave the image.
 */
export function motionBlur(
  src: ArrayLike<number>,
  height: number,
  width: number,
  radius: number,
  sigma: number,
  angleDegrees: number,
  out: Float32Array | Float64Array,
): void {
  const length = 2 * radius + 1;
  const weights = new Float64Array(length);
  let sum = 0;
  for (let i = 0; i < length; i++) {
    weights[i] = Math.exp(-(i * i) / (2 * sigma * sigma)) / (Math.sqrt(2 * Math.PI) * sigma);
    sum += weights[i];
  }
  const sin = Math.sin((angleDegrees * Math.PI) / 180);
  const cos = Math.cos((angleDegrees * Math.PI) / 180);
  // The steps kept (the line stops at the first one that would leave the image).
  const stepDy: number[] = [];
  const stepDx: number[] = [];
  const stepWeight: number[] = [];
  for (let i = 0; i < length; i++) {
    const dy = -Math.ceil(i * sin - 0.5);
    const dx = -Math.ceil(i * cos - 0.5);
    if (Math.abs(dy) >= height || Math.abs(dx) >= width) break;
    stepDy.push(dy);
    stepDx.push(dx);
    stepWeight.push(weights[i] / sum);
  }
  const steps = stepWeight.length;
  if (out instanceof Float64Array) {
    motionBlurFloat64(src, height, width, stepDy, stepDx, stepWeight, out);
    return;
  }
  // A float32 output rounds after every step, as the step-by-step sum into it always did: row by
  // row, every step into the same output row; per row and step the source x = x - dx is clamped
  // in three spans (left of the image: its first pixel; inside; right of it: its last pixel).
  out.fill(0);
  for (let y = 0; y < height; y++) {
    const rowStart = y * width;
    for (let s = 0; s < steps; s++) {
      const weight = stepWeight[s];
      const dx = stepDx[s];
      const sourceRow = Math.min(height - 1, Math.max(0, y - stepDy[s])) * width;
      const insideStart = dx > 0 ? dx : 0;
      const insideEnd = dx < 0 ? width + dx : width;
      const first = weight * src[sourceRow];
      for (let x = 0; x < insideStart; x++) out[rowStart + x] += first;
      const shift = sourceRow - dx - rowStart;
      for (let p = rowStart + insideStart; p < rowStart + insideEnd; p++) out[p] += weight * src[p + shift];
      const last = weight * src[sourceRow + width - 1];
      for (let p = rowStart + insideEnd; p < rowStart + width; p++) out[p] += last;
    }
  }
}

/** motionBlurFloat64's source plane, padded left and right by replicated edge pixels. */
let motionSource = new Float64Array(0);

/**
 * motionBlur into a float64 plane: each pixel's sum of weight * shifted pixel, taken in step order
 * from 0 like the plane-by-plane sum of the reference (so the same bits as accumulating in the
 * output step by step), but kept in registers for eight pixels side by side, with one pass over the
 * output instead of one per step. The source is copied once into rows padded with their edge
 * pixel on both sides as far as the streak reaches (the same values the reference's replicated
 * edge gives), so no read needs clamping.
 */
function motionBlurFloat64(
  src: ArrayLike<number>,
  height: number,
  width: number,
  stepDy: readonly number[],
  stepDx: readonly number[],
  stepWeight: readonly number[],
  out: Float64Array,
): void {
  const steps = stepWeight.length;
  const weights = Float64Array.from(stepWeight);
  let minDx = 0;
  let maxDx = 0;
  for (const dx of stepDx) {
    minDx = Math.min(minDx, dx);
    maxDx = Math.max(maxDx, dx);
  }
  // Source x = x - dx lies in [-maxDx, width - 1 - minDx].
  const padLeft = maxDx;
  const paddedWidth = width + maxDx - minDx;
  if (motionSource.length < height * paddedWidth) motionSource = new Float64Array(height * paddedWidth);
  const source = motionSource;
  for (let y = 0; y < height; y++) {
    const from = y * width;
    const to = y * paddedWidth;
    const first = src[from];
    const last = src[from + width - 1];
    for (let x = 0; x < padLeft; x++) source[to + x] = first;
    for (let x = 0; x < width; x++) source[to + padLeft + x] = src[from + x];
    for (let x = padLeft + width; x < paddedWidth; x++) source[to + x] = last;
  }
  /** Per step, where output x's source pixel is in `source`, minus x. */
  const shifted = new Int32Array(steps);
  for (let y = 0; y < height; y++) {
    for (let s = 0; s < steps; s++) {
      const sourceY = Math.min(height - 1, Math.max(0, y - stepDy[s]));
      shifted[s] = sourceY * paddedWidth + padLeft - stepDx[s];
    }
    const rowStart = y * width;
    let x = 0;
    for (; x + 7 < width; x += 8) {
      let acc0 = 0;
      let acc1 = 0;
      let acc2 = 0;
      let acc3 = 0;
      let acc4 = 0;
      let acc5 = 0;
      let acc6 = 0;
      let acc7 = 0;
      for (let s = 0; s < steps; s++) {
        const weight = weights[s];
        const at = shifted[s] + x;
        acc0 += weight * source[at];
        acc1 += weight * source[at + 1];
        acc2 += weight * source[at + 2];
        acc3 += weight * source[at + 3];
        acc4 += weight * source[at + 4];
        acc5 += weight * source[at + 5];
        acc6 += weight * source[at + 6];
        acc7 += weight * source[at + 7];
      }
      const p = rowStart + x;
      out[p] = acc0;
      out[p + 1] = acc1;
      out[p + 2] = acc2;
      out[p + 3] = acc3;
      out[p + 4] = acc4;
      out[p + 5] = acc5;
      out[p + 6] = acc6;
      out[p + 7] = acc7;
    }
    for (; x < width; x++) {
      let acc = 0;
      for (let s = 0; s < steps; s++) acc += weights[s] * source[shifted[s] + x];
      out[rowStart + x] = acc;
    }
  }
}

/** plasmaFractal's uniforms and their words, kept between calls (fresh large arrays cost page faults). */
let plasmaUniforms = new Float64Array(0);
let plasmaWords = new Uint32Array(0);

/**
 * The reference's plasma fractal (diamond-square, after FLHerne/mapgen): a square height map of
 * side `size` (a power of two) normalized to [0, 1]. Random offsets come from `stream` in a fixed
 * order: each step's square pass, then its diamond passes, in row-major order.
 * `out` (size * size values), when given, receives the map instead of a fresh array, so callers
 * that make one map per image allocate it once. Wrapping is a bit mask (size is a power of two)
 * and each neighbour sum is taken in the same order as ever, so the bytes do not depend on it.
 */
export function plasmaFractal(
  size: number,
  wibbleDecay: number,
  stream: PhiloxStream,
  out?: Float64Array,
): Float64Array {
  if (size < 2 || (size & (size - 1)) !== 0)
    throw new Error(`plasma fractal size must be a power of two, got ${size}`);
  const cells = size * size;
  if (out !== undefined && out.length !== cells)
    throw new Error(`plasma fractal output needs ${cells} values, got ${out.length}`);
  const map = out ?? new Float64Array(cells);
  // Every cell is written before it is read except the corner (0, 0), which stays 0. Every other
  // cell takes one uniform, in the order below: all cells - 1 are drawn up front in bulk (the same
  // values as one stream.uniform() per cell) and read in order.
  map[0] = 0;
  if (plasmaUniforms.length < cells - 1) {
    plasmaUniforms = new Float64Array(cells - 1);
    plasmaWords = new Uint32Array(2 * (cells - 1));
  }
  const uniforms = stream.fillUniform(plasmaUniforms.subarray(0, cells - 1), plasmaWords);
  let next = 0;
  const mask = size - 1;
  let wibble = 100;
  // Integer halving (>> 1, not / 2) keeps step, half and the indices int32 for the JIT.
  for (let step = size; step >= 2; step >>= 1) {
    const half = step >> 1;
    // Square pass: the centre of each step x step square from its four corners.
    for (let y = half; y < size; y += step) {
      const above = (y - half) * size;
      const below = ((y + half) & mask) * size;
      for (let x = half; x < size; x += step) {
        const left = x - half;
        const right = (x + half) & mask;
        const sum = map[above + left] + map[above + right] + map[below + left] + map[below + right];
        map[y * size + x] = sum / 4 + wibble * (2 * uniforms[next++] - 1) * wibble;
      }
    }
    // Diamond passes: the edge midpoints from their left, right, upper and lower neighbours, first
    // on the rows of the corners, then on the rows of the centres.
    for (let pass = 0; pass < 2; pass++) {
      const firstY = pass === 0 ? 0 : half;
      const firstX = pass === 0 ? half : 0;
      for (let y = firstY; y < size; y += step) {
        const row = y * size;
        const above = ((y - half) & mask) * size;
        const below = ((y + half) & mask) * size;
        for (let x = firstX; x < size; x += step) {
          const sum =
            map[row + ((x - half) & mask)] + map[row + ((x + half) & mask)] + map[above + x] + map[below + x];
          map[row + x] = sum / 4 + wibble * (2 * uniforms[next++] - 1) * wibble;
        }
      }
    }
    wibble /= wibbleDecay;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < cells; i++) {
    const value = map[i];
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const range = max - min;
  for (let i = 0; i < cells; i++) map[i] = (map[i] - min) / range;
  return map;
}

/** map_coordinates(order=1) at one point: bilinear interpolation with out-of-range indices mapped by `mode`. */
export function bilinearAt(
  src: ArrayLike<number>,
  height: number,
  width: number,
  y: number,
  x: number,
  mode: BorderMode,
): number {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const ty = y - y0;
  const tx = x - x0;
  const r0 = borderIndex(y0, height, mode) * width;
  const r1 = borderIndex(y0 + 1, height, mode) * width;
  const c0 = borderIndex(x0, width, mode);
  const c1 = borderIndex(x0 + 1, width, mode);
  return (
    (src[r0 + c0] * (1 - tx) + src[r0 + c1] * tx) * (1 - ty) +
    (src[r1 + c0] * (1 - tx) + src[r1 + c1] * tx) * ty
  );
}

/** The reference's `disk`: an aliased disk of `radius`, normalized, then smoothed by cv2.GaussianBlur(sigma = aliasBlur). */
export function antialiasedDisk(radius: number, aliasBlur: number): { kernel: Float64Array; size: number } {
  const half = radius <= 8 ? 8 : radius;
  const size = 2 * half + 1;
  const disk = new Float64Array(size * size);
  let count = 0;
  for (let y = -half; y <= half; y++) {
    for (let x = -half; x <= half; x++) {
      if (x * x + y * y <= radius * radius) {
        disk[(y + half) * size + x + half] = 1;
        count++;
      }
    }
  }
  for (let i = 0; i < disk.length; i++) disk[i] /= count;
  const blur = gaussianKernelCv(radius <= 8 ? 3 : 5, aliasBlur);
  const kernel = new Float64Array(size * size);
  separableFilter(disk, size, size, blur, blur, 'reflect101', kernel);
  return { kernel, size };
}

/** The WebAssembly passes, checked against JavaScript at load (undefined: JavaScript alone). */
const CORRELATE_WASM = checkedCorrelateWasm();

/** Which implementation separableFilter uses here (tests check that WebAssembly loaded). */
export const separableFilterBackend = (): 'wasm' | 'js' => (CORRELATE_WASM === undefined ? 'js' : 'wasm');
