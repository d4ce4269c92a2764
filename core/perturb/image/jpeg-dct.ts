/**
 * The lossy core of jpeg_compression: libjpeg's "islow" integer DCT pair (jfdctint.c,
 * jidctint.c: 13-bit fixed-point cosines, two extra bits of precision kept between the row and
 * column passes) with libjpeg's rounding quantization between them, run block by block on a
 * padded 8-bit plane in place. Written as straight-line passes over one reused Int32Array block,
 * with quantization and dequantization fused into the forward column pass, and with libjpeg's
 * own shortcuts for zero coefficients on the inverse side (a column whose AC terms are zero, a
 * block with only a DC term, a block whose terms all lie in its first column): each shortcut
 * gives exactly what the full computation gives, so the output is libjpeg's bit for bit.
 * All intermediates of 8-bit data fit in int32, as libjpeg relies on too, so `>>` is exact.
 */

const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** DESCALE(x, n) = (x + 2^(n-1)) >> n for the shifts used: CONST_BITS -+ PASS1_BITS, and more. */
const ROUND_11 = 1 << 10;
const ROUND_15 = 1 << 14;
const ROUND_18 = 1 << 17;

/**
 * libjpeg's post-IDCT range limit: the centred result is taken modulo 1024, then clamped to
 * [-128, 127] and shifted to [0, 255] (values past +-512 wrap, as in libjpeg).
 */
const RANGE_LIMIT = Uint8Array.from({ length: 1024 }, (_, index) => {
  const centred = index < 512 ? index : index - 1024;
  return Math.min(255, Math.max(0, centred + 128));
});

/** A quantization table prepared for the fused quantize-dequantize step. */
export interface Quantizer {
  /** The table entry of each coefficient (natural order): what the decoder multiplies back. */
  readonly step: Int32Array;
  /** Half the divisor 8 x step (libjpeg's rounding: ties away from zero). */
  readonly half: Int32Array;
  /**
   * 1 / (8 x step), enlarged by 2^-30 relative, so that the truncated product equals the
   * integer quotient (an exact multiple must not fall just below its quotient, and the excess
   * stays below 1 / divisor): checked for every dividend under 2^17 and every step 1-255; the
   * DCT outputs of 8-bit samples stay under 2^14.
   */
  readonly reciprocal: Float64Array;
}

export function quantizerFor(table: Int32Array): Quantizer {
  const step = Int32Array.from(table);
  const half = Int32Array.from(table, (entry) => entry * 4);
  const reciprocal = Float64Array.from(table, (entry) => (1 / (entry * 8)) * (1 + 2 ** -30));
  return { step, half, reciprocal };
}

/**
 * Quantize one DCT output (scaled by 8, as libjpeg leaves it) to the nearest multiple of 8 x
 * step, ties away from zero, and return the dequantized value level x step.
 */
function dequantized(value: number, k: number, quantizer: Quantizer): number {
  const magnitude = value < 0 ? -value : value;
  const level = ((magnitude + quantizer.half[k]) * quantizer.reciprocal[k]) | 0;
  const restored = level * quantizer.step[k];
  return value < 0 ? -restored : restored;
}

/** Encode and decode every 8x8 block of a padded plane (width, height multiples of 8) in place. */
export function roundTripPlane(
  plane: Uint8Array,
  width: number,
  height: number,
  quantizer: Quantizer,
  block: Int32Array,
): void {
  for (let top = 0; top < height; top += 8) {
    for (let left = 0; left < width; left += 8) {
      const origin = top * width + left;
      forwardRows(plane, origin, width, block);
      const mask = forwardColumnsQuantized(block, quantizer);
      if (mask === 0) {
        // DC only: both inverse passes reduce to DESCALE(dc << PASS1_BITS, PASS1_BITS + 3).
        fillBlock(plane, origin, width, RANGE_LIMIT[((block[0] * 4 + 16) >> 5) & 1023]);
      } else if ((mask & OUTSIDE_FIRST_COLUMN) === 0) {
        // Terms in the first column only: every row of the column pass is a constant row.
        inverseColumn(block, 0);
        for (let row = 0; row < 8; row++) {
          const value = RANGE_LIMIT[((block[row * 8] + 16) >> 5) & 1023];
          const start = origin + row * width;
          plane.fill(value, start, start + 8);
        }
      } else {
        for (let column = 0; column < 8; column++) {
          if ((mask >> column) & 1) {
            inverseColumn(block, column);
          } else {
            const value = block[column] * 4;
            for (let row = 0; row < 64; row += 8) block[row + column] = value;
          }
        }
        for (let row = 0; row < 8; row++) inverseRow(block, row, plane, origin + row * width);
      }
    }
  }
}

/** Bits 1-8 of the forward pass's mask: a non-zero term outside the first column. */
const OUTSIDE_FIRST_COLUMN = 0x1fe;

function fillBlock(plane: Uint8Array, origin: number, width: number, value: number): void {
  for (let row = 0; row < 8; row++) {
    const start = origin + row * width;
    plane[start] = value;
    plane[start + 1] = value;
    plane[start + 2] = value;
    plane[start + 3] = value;
    plane[start + 4] = value;
    plane[start + 5] = value;
    plane[start + 6] = value;
    plane[start + 7] = value;
  }
}

/** jpeg_fdct_islow pass 1: the rows of one block of samples, centred on 0, into `block`. */
function forwardRows(plane: Uint8Array, origin: number, width: number, block: Int32Array): void {
  for (let row = 0; row < 8; row++) {
    const p = origin + row * width;
    const o = row * 8;
    const d0 = plane[p] - 128;
    const d1 = plane[p + 1] - 128;
    const d2 = plane[p + 2] - 128;
    const d3 = plane[p + 3] - 128;
    const d4 = plane[p + 4] - 128;
    const d5 = plane[p + 5] - 128;
    const d6 = plane[p + 6] - 128;
    const d7 = plane[p + 7] - 128;
    const tmp0 = d0 + d7;
    const tmp7 = d0 - d7;
    const tmp1 = d1 + d6;
    const tmp6 = d1 - d6;
    const tmp2 = d2 + d5;
    const tmp5 = d2 - d5;
    const tmp3 = d3 + d4;
    const tmp4 = d3 - d4;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    block[o] = (tmp10 + tmp11) * 4;
    block[o + 4] = (tmp10 - tmp11) * 4;
    const z1 = (tmp12 + tmp13) * FIX_0_541196100;
    block[o + 2] = (z1 + tmp13 * FIX_0_765366865 + ROUND_11) >> 11;
    block[o + 6] = (z1 - tmp12 * FIX_1_847759065 + ROUND_11) >> 11;
    const z5 = (tmp4 + tmp5 + tmp6 + tmp7) * FIX_1_175875602;
    const o1 = -(tmp4 + tmp7) * FIX_0_899976223;
    const o2 = -(tmp5 + tmp6) * FIX_2_562915447;
    const o3 = z5 - (tmp4 + tmp6) * FIX_1_961570560;
    const o4 = z5 - (tmp5 + tmp7) * FIX_0_390180644;
    block[o + 7] = (tmp4 * FIX_0_298631336 + o1 + o3 + ROUND_11) >> 11;
    block[o + 5] = (tmp5 * FIX_2_053119869 + o2 + o4 + ROUND_11) >> 11;
    block[o + 3] = (tmp6 * FIX_3_072711026 + o2 + o3 + ROUND_11) >> 11;
    block[o + 1] = (tmp7 * FIX_1_501321110 + o1 + o4 + ROUND_11) >> 11;
  }
}

/**
 * jpeg_fdct_islow pass 2 (columns), each output quantized and dequantized in place. Returns a
 * mask: bit c (0-7) when column c has a non-zero AC term in rows 1-7, bit 8 when some term of
 * row 0 outside column 0 is non-zero; 0 means a DC-only block.
 */
function forwardColumnsQuantized(block: Int32Array, quantizer: Quantizer): number {
  let mask = 0;
  for (let c = 0; c < 8; c++) {
    const d0 = block[c];
    const d1 = block[c + 8];
    const d2 = block[c + 16];
    const d3 = block[c + 24];
    const d4 = block[c + 32];
    const d5 = block[c + 40];
    const d6 = block[c + 48];
    const d7 = block[c + 56];
    const tmp0 = d0 + d7;
    const tmp7 = d0 - d7;
    const tmp1 = d1 + d6;
    const tmp6 = d1 - d6;
    const tmp2 = d2 + d5;
    const tmp5 = d2 - d5;
    const tmp3 = d3 + d4;
    const tmp4 = d3 - d4;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    const q0 = dequantized((tmp10 + tmp11 + 2) >> 2, c, quantizer);
    const q4 = dequantized((tmp10 - tmp11 + 2) >> 2, c + 32, quantizer);
    const z1 = (tmp12 + tmp13) * FIX_0_541196100;
    const q2 = dequantized((z1 + tmp13 * FIX_0_765366865 + ROUND_15) >> 15, c + 16, quantizer);
    const q6 = dequantized((z1 - tmp12 * FIX_1_847759065 + ROUND_15) >> 15, c + 48, quantizer);
    const z5 = (tmp4 + tmp5 + tmp6 + tmp7) * FIX_1_175875602;
    const o1 = -(tmp4 + tmp7) * FIX_0_899976223;
    const o2 = -(tmp5 + tmp6) * FIX_2_562915447;
    const o3 = z5 - (tmp4 + tmp6) * FIX_1_961570560;
    const o4 = z5 - (tmp5 + tmp7) * FIX_0_390180644;
    const q7 = dequantized((tmp4 * FIX_0_298631336 + o1 + o3 + ROUND_15) >> 15, c + 56, quantizer);
    const q5 = dequantized((tmp5 * FIX_2_053119869 + o2 + o4 + ROUND_15) >> 15, c + 40, quantizer);
    const q3 = dequantized((tmp6 * FIX_3_072711026 + o2 + o3 + ROUND_15) >> 15, c + 24, quantizer);
    const q1 = dequantized((tmp7 * FIX_1_501321110 + o1 + o4 + ROUND_15) >> 15, c + 8, quantizer);
    block[c] = q0;
    block[c + 8] = q1;
    block[c + 16] = q2;
    block[c + 24] = q3;
    block[c + 32] = q4;
    block[c + 40] = q5;
    block[c + 48] = q6;
    block[c + 56] = q7;
    if ((q1 | q2 | q3 | q4 | q5 | q6 | q7) !== 0) mask |= 1 << c;
    if (c > 0 && q0 !== 0) mask |= 0x100;
  }
  return mask;
}

/**
 * The odd part shared by both inverse passes (jidctint.c): from coefficients 7, 5, 3, 1 it
 * gives the odd terms of outputs 3, 2, 1, 0, returned through ODD (int32: the passes only use them through `>>`, which wraps the same way).
 */
const ODD = new Int32Array(4);

function inverseOdd(c7: number, c5: number, c3: number, c1: number): void {
  const z5 = (c7 + c5 + c3 + c1) * FIX_1_175875602;
  const z1 = -(c7 + c1) * FIX_0_899976223;
  const z2 = -(c5 + c3) * FIX_2_562915447;
  const z3 = z5 - (c7 + c3) * FIX_1_961570560;
  const z4 = z5 - (c5 + c1) * FIX_0_390180644;
  ODD[0] = c7 * FIX_0_298631336 + z1 + z3;
  ODD[1] = c5 * FIX_2_053119869 + z2 + z4;
  ODD[2] = c3 * FIX_3_072711026 + z2 + z3;
  ODD[3] = c1 * FIX_1_501321110 + z1 + z4;
}

/** jpeg_idct_islow pass 1 on one column of dequantized coefficients, in place. */
function inverseColumn(block: Int32Array, c: number): void {
  const c0 = block[c];
  const c2 = block[c + 16];
  const c4 = block[c + 32];
  const c6 = block[c + 48];
  const z1 = (c2 + c6) * FIX_0_541196100;
  const even2 = z1 - c6 * FIX_1_847759065;
  const even3 = z1 + c2 * FIX_0_765366865;
  const even0 = (c0 + c4) * 8192;
  const even1 = (c0 - c4) * 8192;
  const tmp10 = even0 + even3 + ROUND_11;
  const tmp13 = even0 - even3 + ROUND_11;
  const tmp11 = even1 + even2 + ROUND_11;
  const tmp12 = even1 - even2 + ROUND_11;
  inverseOdd(block[c + 56], block[c + 40], block[c + 24], block[c + 8]);
  const odd0 = ODD[0];
  const odd1 = ODD[1];
  const odd2 = ODD[2];
  const odd3 = ODD[3];
  block[c] = (tmp10 + odd3) >> 11;
  block[c + 56] = (tmp10 - odd3) >> 11;
  block[c + 8] = (tmp11 + odd2) >> 11;
  block[c + 48] = (tmp11 - odd2) >> 11;
  block[c + 16] = (tmp12 + odd1) >> 11;
  block[c + 40] = (tmp12 - odd1) >> 11;
  block[c + 24] = (tmp13 + odd0) >> 11;
  block[c + 32] = (tmp13 - odd0) >> 11;
}

/** jpeg_idct_islow pass 2 on one row, range-limited samples written to the plane at `p`. */
function inverseRow(block: Int32Array, row: number, plane: Uint8Array, p: number): void {
  const o = row * 8;
  const c0 = block[o];
  const c2 = block[o + 2];
  const c4 = block[o + 4];
  const c6 = block[o + 6];
  const z1 = (c2 + c6) * FIX_0_541196100;
  const even2 = z1 - c6 * FIX_1_847759065;
  const even3 = z1 + c2 * FIX_0_765366865;
  const even0 = (c0 + c4) * 8192;
  const even1 = (c0 - c4) * 8192;
  const tmp10 = even0 + even3 + ROUND_18;
  const tmp13 = even0 - even3 + ROUND_18;
  const tmp11 = even1 + even2 + ROUND_18;
  const tmp12 = even1 - even2 + ROUND_18;
  inverseOdd(block[o + 7], block[o + 5], block[o + 3], block[o + 1]);
  const odd0 = ODD[0];
  const odd1 = ODD[1];
  const odd2 = ODD[2];
  const odd3 = ODD[3];
  plane[p] = RANGE_LIMIT[((tmp10 + odd3) >> 18) & 1023];
  plane[p + 7] = RANGE_LIMIT[((tmp10 - odd3) >> 18) & 1023];
  plane[p + 1] = RANGE_LIMIT[((tmp11 + odd2) >> 18) & 1023];
  plane[p + 6] = RANGE_LIMIT[((tmp11 - odd2) >> 18) & 1023];
  plane[p + 2] = RANGE_LIMIT[((tmp12 + odd1) >> 18) & 1023];
  plane[p + 5] = RANGE_LIMIT[((tmp12 - odd1) >> 18) & 1023];
  plane[p + 3] = RANGE_LIMIT[((tmp13 + odd0) >> 18) & 1023];
  plane[p + 4] = RANGE_LIMIT[((tmp13 - odd0) >> 18) & 1023];
}
