/**
 * cv2.filter2D by FFT, for kernels too large to sum directly at speed (defocus_blur's disks are
 * up to 21x21 = 441 taps; OpenCV itself switches to a DFT above 11x11). Same definition as
 * filters.ts filter2d: correlation with the kernel anchored at its centre, borders mirrored
 * without repeating the edge (BORDER_REFLECT_101). The plane is mirror-padded by the kernel's
 * radius, zero-filled to a power-of-two size, transformed, multiplied by the conjugate spectrum
 * of the kernel (conjugation turns convolution into correlation), and transformed back; the
 * padded size holds every window, so the circular wrap never reaches an output pixel. All
 * arithmetic is float64: results differ from the direct sum by rounding only (about 1e-15
 * relative), far below float32 output precision, but they are not the same bits.
 *
 */
import { borderIndex } from './filters';

interface FftPlan {
  readonly size: number;
  readonly bitReversed: Uint32Array;
  readonly cos: Float64Array;
  readonly sin: Float64Array;
}

const plans = new Map<number, FftPlan>();

function planFor(size: number): FftPlan {
  let plan = plans.get(size);
  if (!plan) {
    const bits = Math.log2(size);
    const bitReversed = new Uint32Array(size);
    for (let i = 0; i < size; i++) {
      let reversed = 0;
      for (let bit = 0; bit < bits; bit++) reversed |= ((i >> bit) & 1) << (bits - 1 - bit);
      bitReversed[i] = reversed;
    }
    const cos = new Float64Array(size / 2);
    const sin = new Float64Array(size / 2);
    for (let i = 0; i < size / 2; i++) {
      cos[i] = Math.cos((2 * Math.PI * i) / size);
      sin[i] = -Math.sin((2 * Math.PI * i) / size);
    }
    plan = { size, bitReversed, cos, sin };
    plans.set(size, plan);
  }
  return plan;
}

/**
 * In-place iterative radix-2 FFT of one line of `size` complex values at re/im[offset...]
 * (forward: e^(-2 pi i k n / N); `inverse` conjugates the twiddles and leaves the 1/N scale to the caller).
 */
function fftLine(re: Float64Array, im: Float64Array, offset: number, plan: FftPlan, inverse: boolean): void {
  const { size, bitReversed, cos, sin } = plan;
  for (let i = 0; i < size; i++) {
    const j = bitReversed[i];
    if (j > i) {
      const a = offset + i;
      const b = offset + j;
      const tr = re[a];
      re[a] = re[b];
      re[b] = tr;
      const ti = im[a];
      im[a] = im[b];
      im[b] = ti;
    }
  }
  // First stage (twiddle 1) on its own: no multiplications.
  for (let i = offset; i < offset + size; i += 2) {
    const r = re[i + 1];
    const s = im[i + 1];
    re[i + 1] = re[i] - r;
    im[i + 1] = im[i] - s;
    re[i] += r;
    im[i] += s;
  }
  const sign = inverse ? -1 : 1;
  // The remaining radix-2 stages, two fused per pass where possible (stageLine). The butterflies
  // of a stage are independent, so their order changes no value.
  let half = 2;
  for (; 4 * half <= size; half *= 4) stageLine(re, im, offset, size, half, true, cos, sin, sign);
  if (half < size) stageLine(re, im, offset, size, half, false, cos, sin, sign);
}

/**
 * Radix-2 stage `half` of fftLine (and, if `fused`, stage 2 * half right after it, on the same
 * four values held in registers): exactly the operations of the two stages run one by one, so the
 * same bits, with half the passes over the line.
 */
function stageLine(
  re: Float64Array,
  im: Float64Array,
  offset: number,
  size: number,
  half: number,
  fused: boolean,
  cos: Float64Array,
  sin: Float64Array,
  sign: number,
): void {
  const step = size / (2 * half);
  if (!fused) {
    for (let k = 0; k < half; k++) {
      const wr = cos[k * step];
      const wi = sign * sin[k * step];
      for (let start = offset; start < offset + size; start += 2 * half) {
        const a = start + k;
        const b = a + half;
        const br = re[b];
        const bi = im[b];
        const tr = br * wr - bi * wi;
        const ti = br * wi + bi * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
    return;
  }
  const step2 = step / 2;
  for (let k = 0; k < half; k++) {
    const wr = cos[k * step];
    const wi = sign * sin[k * step];
    const vr = cos[k * step2];
    const vi = sign * sin[k * step2];
    const ur = cos[(k + half) * step2];
    const ui = sign * sin[(k + half) * step2];
    for (let start = offset; start < offset + size; start += 4 * half) {
      const i0 = start + k;
      const i1 = i0 + half;
      const i2 = i1 + half;
      const i3 = i2 + half;
      // Stage half: (i0, i1) and (i2, i3), twiddle w.
      let br = re[i1];
      let bi = im[i1];
      let tr = br * wr - bi * wi;
      let ti = br * wi + bi * wr;
      const x0r = re[i0];
      const x0i = im[i0];
      const y1r = x0r - tr;
      const y1i = x0i - ti;
      const y0r = x0r + tr;
      const y0i = x0i + ti;
      br = re[i3];
      bi = im[i3];
      tr = br * wr - bi * wi;
      ti = br * wi + bi * wr;
      const x2r = re[i2];
      const x2i = im[i2];
      const y3r = x2r - tr;
      const y3i = x2i - ti;
      const y2r = x2r + tr;
      const y2i = x2i + ti;
      // Stage 2 * half: (i0, i2) with twiddle v, (i1, i3) with twiddle u.
      tr = y2r * vr - y2i * vi;
      ti = y2r * vi + y2i * vr;
      re[i2] = y0r - tr;
      im[i2] = y0i - ti;
      re[i0] = y0r + tr;
      im[i0] = y0i + ti;
      tr = y3r * ur - y3i * ui;
      ti = y3r * ui + y3i * ur;
      re[i3] = y1r - tr;
      im[i3] = y1i - ti;
      re[i1] = y1r + tr;
      im[i1] = y1i + ti;
    }
  }
}

/**
 * fftLine applied to every column of a `plan.size` x `columns` row-major pair of arrays, each
 * butterfly run along whole rows: the same operations on each column as fftLine on that column
 * copied out (so the same bits), with contiguous reads and one twiddle load per row pair.
 */
function fftColumns(
  re: Float64Array,
  im: Float64Array,
  columns: number,
  plan: FftPlan,
  inverse: boolean,
): void {
  const { size, bitReversed, cos, sin } = plan;
  for (let i = 0; i < size; i++) {
    const j = bitReversed[i];
    if (j > i) {
      const a = i * columns;
      const b = j * columns;
      for (let c = 0; c < columns; c++) {
        const tr = re[a + c];
        re[a + c] = re[b + c];
        re[b + c] = tr;
        const ti = im[a + c];
        im[a + c] = im[b + c];
        im[b + c] = ti;
      }
    }
  }
  for (let i = 0; i < size; i += 2) {
    const a = i * columns;
    const b = a + columns;
    for (let c = 0; c < columns; c++) {
      const r = re[b + c];
      const s = im[b + c];
      re[b + c] = re[a + c] - r;
      im[b + c] = im[a + c] - s;
      re[a + c] += r;
      im[a + c] += s;
    }
  }
  const sign = inverse ? -1 : 1;
  let half = 2;
  for (; 4 * half <= size; half *= 4) {
    // Stages half and 2 * half fused, as in stageLine.
    const step = size / (2 * half);
    const step2 = step / 2;
    for (let k = 0; k < half; k++) {
      const wr = cos[k * step];
      const wi = sign * sin[k * step];
      const vr = cos[k * step2];
      const vi = sign * sin[k * step2];
      const ur = cos[(k + half) * step2];
      const ui = sign * sin[(k + half) * step2];
      for (let start = 0; start < size; start += 4 * half) {
        const r0 = (start + k) * columns;
        const r1 = r0 + half * columns;
        const r2 = r1 + half * columns;
        const r3 = r2 + half * columns;
        for (let c = 0; c < columns; c++) {
          let br = re[r1 + c];
          let bi = im[r1 + c];
          let tr = br * wr - bi * wi;
          let ti = br * wi + bi * wr;
          const x0r = re[r0 + c];
          const x0i = im[r0 + c];
          const y1r = x0r - tr;
          const y1i = x0i - ti;
          const y0r = x0r + tr;
          const y0i = x0i + ti;
          br = re[r3 + c];
          bi = im[r3 + c];
          tr = br * wr - bi * wi;
          ti = br * wi + bi * wr;
          const x2r = re[r2 + c];
          const x2i = im[r2 + c];
          const y3r = x2r - tr;
          const y3i = x2i - ti;
          const y2r = x2r + tr;
          const y2i = x2i + ti;
          tr = y2r * vr - y2i * vi;
          ti = y2r * vi + y2i * vr;
          re[r2 + c] = y0r - tr;
          im[r2 + c] = y0i - ti;
          re[r0 + c] = y0r + tr;
          im[r0 + c] = y0i + ti;
          tr = y3r * ur - y3i * ui;
          ti = y3r * ui + y3i * ur;
          re[r3 + c] = y1r - tr;
          im[r3 + c] = y1i - ti;
          re[r1 + c] = y1r + tr;
          im[r1 + c] = y1i + ti;
        }
      }
    }
  }
  for (; half < size; half *= 2) {
    const twiddleStep = size / (2 * half);
    for (let start = 0; start < size; start += 2 * half) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * twiddleStep];
        const wi = sign * sin[k * twiddleStep];
        const a = (start + k) * columns;
        const b = a + half * columns;
        for (let c = 0; c < columns; c++) {
          const br = re[b + c];
          const bi = im[b + c];
          const tr = br * wr - bi * wi;
          const ti = br * wi + bi * wr;
          re[b + c] = re[a + c] - tr;
          im[b + c] = im[a + c] - ti;
          re[a + c] += tr;
          im[a + c] += ti;
        }
      }
    }
  }
}

const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(n));

/**
 * One correlation problem: a plane size and a kernel, with the buffers its transforms reuse.
 * Planes are real, so their 2-D spectra are Hermitian and only columns 0..N/2 are kept; two
 * rows of the same plane share each complex row transform (one as the real, one as the
 * imaginary part, separated by symmetry). Each plane is transformed on its own, so a channel's
 * output never depends on the other channels.
 */
export class FftCorrelator {
  private readonly plan: FftPlan;
  private readonly size: number;
  /** Kept spectrum columns, N / 2 + 1. */
  private readonly columns: number;
  /** The kernel's conjugate spectrum (columns 0..N/2), scaled by 1 / N^2 for the inverse transform. */
  private readonly kernelRe: Float64Array;
  private readonly kernelIm: Float64Array;
  /** Spectrum of the plane being filtered, N rows x `columns`. */
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly lineRe: Float64Array;
  private readonly lineIm: Float64Array;
  private readonly rowSource: Int32Array;
  private readonly columnSource: Int32Array;

  constructor(
    readonly height: number,
    readonly width: number,
    kernel: ArrayLike<number>,
    readonly kernelHeight: number,
    readonly kernelWidth: number,
  ) {
    const size = nextPowerOfTwo(Math.max(4, height + kernelHeight - 1, width + kernelWidth - 1));
    this.size = size;
    this.plan = planFor(size);
    this.columns = size / 2 + 1;
    this.re = new Float64Array(size * this.columns);
    this.im = new Float64Array(size * this.columns);
    this.lineRe = new Float64Array(size);
    this.lineIm = new Float64Array(size);
    const anchorY = Math.floor(kernelHeight / 2);
    const anchorX = Math.floor(kernelWidth / 2);
    // Where each padded row and column comes from (reflect101), computed once.
    this.rowSource = Int32Array.from({ length: height + kernelHeight - 1 }, (_, y) =>
      borderIndex(y - anchorY, height, 'reflect101'),
    );
    this.columnSource = Int32Array.from({ length: width + kernelWidth - 1 }, (_, x) =>
      borderIndex(x - anchorX, width, 'reflect101'),
    );
    // The kernel's full complex spectrum, of which the kept columns are conjugated and scaled.
    const cells = size * size;
    const fullRe = new Float64Array(cells);
    const fullIm = new Float64Array(cells);
    for (let y = 0; y < kernelHeight; y++) {
      for (let x = 0; x < kernelWidth; x++) fullRe[y * size + x] = kernel[y * kernelWidth + x];
    }
    for (let y = 0; y < kernelHeight; y++) fftLine(fullRe, fullIm, y * size, this.plan, false);
    this.kernelRe = new Float64Array(size * this.columns);
    this.kernelIm = new Float64Array(size * this.columns);
    for (let x = 0; x < this.columns; x++) {
      for (let y = 0; y < size; y++) {
        this.lineRe[y] = fullRe[y * size + x];
        this.lineIm[y] = fullIm[y * size + x];
      }
      fftLine(this.lineRe, this.lineIm, 0, this.plan, false);
      for (let y = 0; y < size; y++) {
        this.kernelRe[y * this.columns + x] = this.lineRe[y] / cells;
        this.kernelIm[y * this.columns + x] = -this.lineIm[y] / cells;
      }
    }
  }

  /** Correlate a height x width plane with the kernel into `out`. */
  correlate(plane: ArrayLike<number>, out: Float32Array | Float64Array): void {
    const { size, columns, re, im, lineRe, lineIm, rowSource, columnSource, height, width, plan } = this;
    const paddedRows = rowSource.length;
    const paddedColumns = columnSource.length;
    // Rows below the padded plane stay zero; every row above is written in full below.
    re.fill(0, paddedRows * columns);
    im.fill(0, paddedRows * columns);
    // Rows, two at a time: Z = a + i b, then A[k] = (Z[k] + conj Z[N-k]) / 2 and
    // B[k] = (Z[k] - conj Z[N-k]) / 2i.
    for (let y = 0; y < paddedRows; y += 2) {
      lineRe.fill(0);
      lineIm.fill(0);
      const first = rowSource[y] * width;
      for (let x = 0; x < paddedColumns; x++) lineRe[x] = plane[first + columnSource[x]];
      const paired = y + 1 < paddedRows;
      if (paired) {
        const second = rowSource[y + 1] * width;
        for (let x = 0; x < paddedColumns; x++) lineIm[x] = plane[second + columnSource[x]];
      }
      fftLine(lineRe, lineIm, 0, plan, false);
      const rowA = y * columns;
      const rowB = rowA + columns;
      for (let k = 0; k < columns; k++) {
        const m = (size - k) & (size - 1);
        const zr = lineRe[k];
        const zi = lineIm[k];
        const mr = lineRe[m];
        const mi = lineIm[m];
        re[rowA + k] = (zr + mr) / 2;
        im[rowA + k] = (zi - mi) / 2;
        if (paired) {
          re[rowB + k] = (zi + mi) / 2;
          im[rowB + k] = (mr - zr) / 2;
        }
      }
    }
    // Columns: forward transform, multiply by the kernel's conjugate spectrum, inverse transform,
    // all columns at once (same butterflies as fftLine per column, so the same bits).
    const { kernelRe, kernelIm } = this;
    fftColumns(re, im, columns, plan, false);
    for (let index = 0; index < size * columns; index++) {
      const r = re[index];
      const s = im[index];
      re[index] = r * kernelRe[index] - s * kernelIm[index];
      im[index] = r * kernelIm[index] + s * kernelRe[index];
    }
    fftColumns(re, im, columns, plan, true);
    // Output rows, two at a time: both are real, so Z = G_a + i G_b (each completed by
    // G[N-k] = conj G[k]) transforms back to a + i b.
    for (let y = 0; y < height; y += 2) {
      const rowA = y * columns;
      const paired = y + 1 < height;
      const rowB = rowA + columns;
      for (let k = 0; k < columns; k++) {
        const ar = re[rowA + k];
        const ai = im[rowA + k];
        const br = paired ? re[rowB + k] : 0;
        const bi = paired ? im[rowB + k] : 0;
        lineRe[k] = ar - bi;
        lineIm[k] = ai + br;
        if (k > 0 && k < size - k) {
          lineRe[size - k] = ar + bi;
          lineIm[size - k] = br - ai;
        }
      }
      fftLine(lineRe, lineIm, 0, plan, true);
      const outA = y * width;
      for (let x = 0; x < width; x++) out[outA + x] = lineRe[x];
      if (paired) {
        const outB = outA + width;
        for (let x = 0; x < width; x++) out[outB + x] = lineIm[x];
      }
    }
  }
}
