import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { mapImages } from './layout';

/** ImageNet-C jpeg_compression: JPEG quality per severity (imagecorruptions 1.1.2). */
const QUALITY_BY_SEVERITY = [25, 18, 15, 10, 7] as const;

const JpegCompressionParams = z.object({ quality: z.number().int().min(1).max(100) }).strict();
type JpegCompressionParams = z.infer<typeof JpegCompressionParams>;

/**
 * JPEG compression artefacts: each image goes through a baseline JPEG encoder and decoder at
 * the given quality. Follows ImageNet-C's jpeg_compression (Hendrycks & Dietterich 2019;
 * imagecorruptions 1.1.2, quality 25 18 15 10 7 for severities 1-5), which saves with Pillow
 * (libjpeg-turbo) and reads the file back.
 *
 * Only the lossy stages of the codec run; the entropy coding (Huffman) in between is lossless,
 * so skipping it changes no pixel. Those stages follow libjpeg-turbo as Pillow drives it, in
 * its integer arithmetic: quality-scaled Annex K tables clamped to 255 (baseline); RGB -> YCbCr
 * in 16-bit fixed point; 4:2:0 chroma (2x2 averages with libjpeg's alternating 1, 2 rounding
 * bias), edges padded by replication to whole blocks; the "islow" integer DCT and rounding
 * quantization; on decoding the islow inverse DCT with libjpeg's range limiting, "fancy"
 * (triangle) chroma upsampling and fixed-point YCbCr -> RGB. Gray images take the single-
 * component path: the reference converts them to RGB (equal channels, so Y is the gray level and
 * chroma is exactly 128, which quantizes to zero error), and its conversion back to gray returns
 * exactly the decoded Y, which is what this module outputs.
 *
 * The codec works on 8-bit samples, so inputs are rounded to the nearest of 256 levels first and
 * the output holds multiples of 1/255: an inherent quantization, kept. For inputs already on that
 * grid (e.g. images decoded from 8-bit files) the output is meant to equal the reference's bit
 * for bit; that was checked against Pillow 13 / libjpeg-turbo on random and smooth images when
 * this version was written (a development check: the tests pin hashes and need no Python).
 * A general-purpose JS codec (jpeg-js, a port of Adobe's AS3 encoder) was not used: it writes
 * 4:4:4 with a floating-point DCT, so it would not reproduce the reference's artefacts.
 */
export const jpegCompression: PerturbationModule<JpegCompressionParams> = {
  name: 'jpeg_compression',
  version: '1.0.0',
  description: 'Baseline JPEG (4:2:0, libjpeg integer DCT) encode and decode at the given quality',
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), quality 25 18 15 10 7 for severities 1-5',
  inputKind: 'image',
  stochastic: false,
  params: JpegCompressionParams,
  severityParams(severity: number): JpegCompressionParams {
    return { quality: QUALITY_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const lumaTable = scaledQuantTable(LUMA_BASE_TABLE, params.quality);
    const chromaTable = scaledQuantTable(CHROMA_BASE_TABLE, params.quality);
    let codec: JpegPlanes | undefined;
    return mapImages(batch, context, 'jpeg_compression', (image, output) => {
      if (!codec || codec.height !== image.height || codec.width !== image.width) {
        codec = planesFor(image.height, image.width);
      }
      if (image.channels === 1) {
        fillLumaFromGray(image.data, codec);
        roundTripBlocks(codec.luma, codec.lumaWidth, codec.lumaHeight, lumaTable, codec.block);
        writeGray(codec, output);
      } else {
        fillYCbCr(image.data, codec);
        roundTripBlocks(codec.luma, codec.lumaWidth, codec.lumaHeight, lumaTable, codec.block);
        roundTripBlocks(codec.cb, codec.chromaWidth, codec.chromaHeight, chromaTable, codec.block);
        roundTripBlocks(codec.cr, codec.chromaWidth, codec.chromaHeight, chromaTable, codec.block);
        writeRgb(codec, output);
      }
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Quantization tables (ITU-T T.81 Annex K, natural order) and libjpeg's quality scaling.

const LUMA_BASE_TABLE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22,
  29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103,
  121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
] as const;

const CHROMA_BASE_TABLE = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array<number>(32).fill(99),
] as const;

/** libjpeg's jpeg_set_quality(quality, force_baseline = TRUE), as Pillow calls it. */
function scaledQuantTable(base: readonly number[], quality: number): Int32Array {
  const percent = quality < 50 ? Math.floor(5000 / quality) : 200 - quality * 2;
  const table = new Int32Array(64);
  for (let i = 0; i < 64; i++) {
    const scaled = Math.floor((base[i] * percent + 50) / 100);
    table[i] = scaled < 1 ? 1 : scaled > 255 ? 255 : scaled;
  }
  return table;
}

// ---------------------------------------------------------------------------------------------
// Sample planes of one image size, padded to whole 8x8 blocks, reused across a batch.

interface JpegPlanes {
  readonly height: number;
  readonly width: number;
  /** Y at full resolution, padded to multiples of 8 by replicating the last column and row. */
  readonly luma: Uint8Array;
  readonly lumaWidth: number;
  readonly lumaHeight: number;
  /** Cb and Cr at full resolution (the encoder's colour-converted rows, before subsampling). */
  readonly fullCb: Uint8Array;
  readonly fullCr: Uint8Array;
  /** Subsampled Cb and Cr, padded to multiples of 8. */
  readonly cb: Uint8Array;
  readonly cr: Uint8Array;
  readonly chromaWidth: number;
  readonly chromaHeight: number;
  /** Chroma samples that are image data: ceil(W / 2) x ceil(H / 2); the rest is padding. */
  readonly chromaRealWidth: number;
  readonly chromaRealHeight: number;
  /** One output row's vertically upsampled chroma sums (3 x nearer row + farther row). */
  readonly cbRow: Int32Array;
  readonly crRow: Int32Array;
  /** One block of DCT workspace. */
  readonly block: Int32Array;
}

const roundUpTo8 = (size: number) => Math.ceil(size / 8) * 8;

function planesFor(height: number, width: number): JpegPlanes {
  const lumaWidth = roundUpTo8(width);
  const lumaHeight = roundUpTo8(height);
  const chromaRealWidth = Math.ceil(width / 2);
  const chromaRealHeight = Math.ceil(height / 2);
  const chromaWidth = roundUpTo8(chromaRealWidth);
  const chromaHeight = roundUpTo8(chromaRealHeight);
  return {
    height,
    width,
    luma: new Uint8Array(lumaWidth * lumaHeight),
    lumaWidth,
    lumaHeight,
    fullCb: new Uint8Array(width * height),
    fullCr: new Uint8Array(width * height),
    cb: new Uint8Array(chromaWidth * chromaHeight),
    cr: new Uint8Array(chromaWidth * chromaHeight),
    chromaWidth,
    chromaHeight,
    chromaRealWidth,
    chromaRealHeight,
    cbRow: new Int32Array(chromaRealWidth),
    crRow: new Int32Array(chromaRealWidth),
    block: new Int32Array(64),
  };
}

/** The nearest of the 256 levels of an 8-bit sample, for a value in [0, 1] (clamped outside). */
function toSample(value: number): number {
  const level = (value * 255 + 0.5) | 0;
  return level < 0 ? 0 : level > 255 ? 255 : level;
}

/** Sample level k as a float32 value k / 255. */
const LEVEL_TO_UNIT = Float32Array.from({ length: 256 }, (_, level) => level / 255);

function fillLumaFromGray(gray: Float32Array, planes: JpegPlanes): void {
  const { width, height, luma, lumaWidth, lumaHeight } = planes;
  for (let y = 0; y < height; y++) {
    const row = y * lumaWidth;
    for (let x = 0; x < width; x++) luma[row + x] = toSample(gray[y * width + x]);
  }
  replicateEdges(luma, width, height, lumaWidth, lumaHeight);
}

/** Extend a plane whose top-left `width` x `height` samples are set to its padded size. */
function replicateEdges(
  plane: Uint8Array,
  width: number,
  height: number,
  paddedWidth: number,
  paddedHeight: number,
): void {
  for (let y = 0; y < height; y++) {
    const row = y * paddedWidth;
    plane.fill(plane[row + width - 1], row + width, row + paddedWidth);
  }
  const lastRow = (height - 1) * paddedWidth;
  for (let y = height; y < paddedHeight; y++)
    plane.copyWithin(y * paddedWidth, lastRow, lastRow + paddedWidth);
}

// libjpeg's RGB <-> YCbCr in 16-bit fixed point (jccolor.c, jdcolor.c).
const SCALE_BITS = 16;
const ONE_HALF = 1 << (SCALE_BITS - 1);
const fix16 = (x: number) => Math.floor(x * (1 << SCALE_BITS) + 0.5);
const R_Y = fix16(0.299);
const G_Y = fix16(0.587);
const B_Y = fix16(0.114);
const R_CB = fix16(0.16874);
const G_CB = fix16(0.33126);
const HALF = fix16(0.5);
const G_CR = fix16(0.41869);
const B_CR = fix16(0.08131);
/** Cb and Cr are offset by 128; libjpeg rounds them with ONE_HALF - 1. */
const CHROMA_BIAS = (128 << SCALE_BITS) + ONE_HALF - 1;

function fillYCbCr(rgb: Float32Array, planes: JpegPlanes): void {
  const { width, height, luma, lumaWidth, lumaHeight, fullCb, fullCr } = planes;
  const pixels = width * height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const red = toSample(rgb[i]);
      const green = toSample(rgb[pixels + i]);
      const blue = toSample(rgb[2 * pixels + i]);
      luma[y * lumaWidth + x] = (R_Y * red + G_Y * green + B_Y * blue + ONE_HALF) >> SCALE_BITS;
      fullCb[i] = (-R_CB * red - G_CB * green + HALF * blue + CHROMA_BIAS) >> SCALE_BITS;
      fullCr[i] = (HALF * red - G_CR * green - B_CR * blue + CHROMA_BIAS) >> SCALE_BITS;
    }
  }
  replicateEdges(luma, width, height, lumaWidth, lumaHeight);
  subsample(fullCb, planes.cb, planes);
  subsample(fullCr, planes.cr, planes);
}

/**
 * libjpeg's h2v2 downsampling: each chroma sample is the mean of a 2x2 block, rounded with a bias
 * alternating 1, 2, 1, ... along the row. Columns beyond the image repeat its last column and an
 * odd last row pairs with itself (the encoder pads its input that way); chroma rows beyond
 * ceil(H / 2) repeat the last computed one.
 */
function subsample(full: Uint8Array, chroma: Uint8Array, planes: JpegPlanes): void {
  const { width, height, chromaWidth, chromaHeight, chromaRealHeight } = planes;
  const lastColumn = width - 1;
  for (let i = 0; i < chromaRealHeight; i++) {
    const top = 2 * i * width;
    const bottom = Math.min(2 * i + 1, height - 1) * width;
    const row = i * chromaWidth;
    let bias = 1;
    for (let j = 0; j < chromaWidth; j++) {
      const left = Math.min(2 * j, lastColumn);
      const right = Math.min(2 * j + 1, lastColumn);
      chroma[row + j] =
        (full[top + left] + full[top + right] + full[bottom + left] + full[bottom + right] + bias) >> 2;
      bias ^= 3;
    }
  }
  const lastRow = (chromaRealHeight - 1) * chromaWidth;
  for (let i = chromaRealHeight; i < chromaHeight; i++) {
    chroma.copyWithin(i * chromaWidth, lastRow, lastRow + chromaWidth);
  }
}

// ---------------------------------------------------------------------------------------------
// libjpeg's "islow" integer DCT pair (jfdctint.c, jidctint.c): 13-bit fixed-point cosines, two
// extra bits of precision kept between the row and column passes.

const CONST_BITS = 13;
const PASS1_BITS = 2;
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

/** Round-half-up right shift, libjpeg's DESCALE (all intermediates fit in int32). */
const descale = (x: number, bits: number) => (x + (1 << (bits - 1))) >> bits;

/**
 * libjpeg's post-IDCT range limit: the centred result is taken modulo 1024, then clamped to
 * [-128, 127] and shifted to [0, 255] (values past +-512 wrap, as in libjpeg).
 */
const IDCT_RANGE_LIMIT = Uint8Array.from({ length: 1024 }, (_, index) => {
  const centred = index < 512 ? index : index - 1024;
  return Math.min(255, Math.max(0, centred + 128));
});

/** Encode and decode every 8x8 block of a padded plane in place. */
function roundTripBlocks(
  plane: Uint8Array,
  width: number,
  height: number,
  quantTable: Int32Array,
  block: Int32Array,
): void {
  for (let top = 0; top < height; top += 8) {
    for (let left = 0; left < width; left += 8) {
      const origin = top * width + left;
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) block[y * 8 + x] = plane[origin + y * width + x] - 128;
      }
      forwardDct(block);
      quantize(block, quantTable);
      inverseDct(block, plane, origin, width);
    }
  }
}

/** Scratch output of `oddRotation` (doubles: exact for every intermediate libjpeg keeps in int32). */
const ODD = new Float64Array(4);

/**
 * The odd-part butterfly of libjpeg's islow DCT, the same algebra in both directions: the forward
 * DCT feeds it the differences (d3 - d4, d2 - d5, d1 - d6, d0 - d7) and gets coefficients 7, 5,
 * 3, 1; the inverse feeds coefficients (7, 5, 3, 1) and gets the odd terms of outputs 3, 2, 1, 0.
 * Writes the four unscaled results into ODD.
 */
function oddRotation(a: number, b: number, c: number, d: number): void {
  const z5 = (a + c + b + d) * FIX_1_175875602;
  const z1 = -(a + d) * FIX_0_899976223;
  const z2 = -(b + c) * FIX_2_562915447;
  const z3 = -(a + c) * FIX_1_961570560 + z5;
  const z4 = -(b + d) * FIX_0_390180644 + z5;
  ODD[0] = a * FIX_0_298631336 + z1 + z3;
  ODD[1] = b * FIX_2_053119869 + z2 + z4;
  ODD[2] = c * FIX_3_072711026 + z2 + z3;
  ODD[3] = d * FIX_1_501321110 + z1 + z4;
}

/** jpeg_fdct_islow: the 2-D DCT, in place, scaled up by 8 as libjpeg leaves it. */
function forwardDct(block: Int32Array): void {
  for (let pass = 0; pass < 2; pass++) {
    // Pass 0 transforms rows (stride 1 along a row, rows 8 apart), pass 1 columns.
    const step = pass === 0 ? 1 : 8;
    const lineStride = pass === 0 ? 8 : 1;
    const oddShift = pass === 0 ? CONST_BITS - PASS1_BITS : CONST_BITS + PASS1_BITS;
    for (let line = 0; line < 8; line++) {
      const o = line * lineStride;
      const d0 = block[o];
      const d1 = block[o + step];
      const d2 = block[o + 2 * step];
      const d3 = block[o + 3 * step];
      const d4 = block[o + 4 * step];
      const d5 = block[o + 5 * step];
      const d6 = block[o + 6 * step];
      const d7 = block[o + 7 * step];
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
      if (pass === 0) {
        block[o] = (tmp10 + tmp11) << PASS1_BITS;
        block[o + 4 * step] = (tmp10 - tmp11) << PASS1_BITS;
      } else {
        block[o] = descale(tmp10 + tmp11, PASS1_BITS);
        block[o + 4 * step] = descale(tmp10 - tmp11, PASS1_BITS);
      }
      const z1 = (tmp12 + tmp13) * FIX_0_541196100;
      block[o + 2 * step] = descale(z1 + tmp13 * FIX_0_765366865, oddShift);
      block[o + 6 * step] = descale(z1 - tmp12 * FIX_1_847759065, oddShift);

      oddRotation(tmp4, tmp5, tmp6, tmp7);
      block[o + 7 * step] = descale(ODD[0], oddShift);
      block[o + 5 * step] = descale(ODD[1], oddShift);
      block[o + 3 * step] = descale(ODD[2], oddShift);
      block[o + step] = descale(ODD[3], oddShift);
    }
  }
}

/**
 * Quantize with libjpeg's rounding (divisor = 8 x table entry, undoing the DCT's scale; ties
 * away from zero), then dequantize, leaving what the decoder multiplies back.
 */
function quantize(block: Int32Array, quantTable: Int32Array): void {
  for (let k = 0; k < 64; k++) {
    const step = quantTable[k];
    const divisor = step << 3;
    const coefficient = block[k];
    const level =
      coefficient < 0
        ? -(((-coefficient + (divisor >> 1)) / divisor) | 0)
        : ((coefficient + (divisor >> 1)) / divisor) | 0;
    block[k] = level * step;
  }
}

/** jpeg_idct_islow on dequantized coefficients, writing range-limited samples into the plane. */
function inverseDct(block: Int32Array, plane: Uint8Array, origin: number, width: number): void {
  // Pass 1 on columns keeps PASS1_BITS extra bits; pass 2 on rows removes them and the x8 scale.
  for (let pass = 0; pass < 2; pass++) {
    const step = pass === 0 ? 8 : 1;
    const lineStride = pass === 0 ? 1 : 8;
    const shift = pass === 0 ? CONST_BITS - PASS1_BITS : CONST_BITS + PASS1_BITS + 3;
    for (let line = 0; line < 8; line++) {
      const o = line * lineStride;
      const c0 = block[o];
      const c1 = block[o + step];
      const c2 = block[o + 2 * step];
      const c3 = block[o + 3 * step];
      const c4 = block[o + 4 * step];
      const c5 = block[o + 5 * step];
      const c6 = block[o + 6 * step];
      const c7 = block[o + 7 * step];

      const z1 = (c2 + c6) * FIX_0_541196100;
      const even2 = z1 - c6 * FIX_1_847759065;
      const even3 = z1 + c2 * FIX_0_765366865;
      const even0 = (c0 + c4) << CONST_BITS;
      const even1 = (c0 - c4) << CONST_BITS;
      const tmp10 = even0 + even3;
      const tmp13 = even0 - even3;
      const tmp11 = even1 + even2;
      const tmp12 = even1 - even2;

      oddRotation(c7, c5, c3, c1);
      const odd0 = ODD[0];
      const odd1 = ODD[1];
      const odd2 = ODD[2];
      const odd3 = ODD[3];

      if (pass === 0) {
        block[o] = descale(tmp10 + odd3, shift);
        block[o + 7 * step] = descale(tmp10 - odd3, shift);
        block[o + step] = descale(tmp11 + odd2, shift);
        block[o + 6 * step] = descale(tmp11 - odd2, shift);
        block[o + 2 * step] = descale(tmp12 + odd1, shift);
        block[o + 5 * step] = descale(tmp12 - odd1, shift);
        block[o + 3 * step] = descale(tmp13 + odd0, shift);
        block[o + 4 * step] = descale(tmp13 - odd0, shift);
      } else {
        const row = origin + line * width;
        plane[row] = IDCT_RANGE_LIMIT[descale(tmp10 + odd3, shift) & 1023];
        plane[row + 7] = IDCT_RANGE_LIMIT[descale(tmp10 - odd3, shift) & 1023];
        plane[row + 1] = IDCT_RANGE_LIMIT[descale(tmp11 + odd2, shift) & 1023];
        plane[row + 6] = IDCT_RANGE_LIMIT[descale(tmp11 - odd2, shift) & 1023];
        plane[row + 2] = IDCT_RANGE_LIMIT[descale(tmp12 + odd1, shift) & 1023];
        plane[row + 5] = IDCT_RANGE_LIMIT[descale(tmp12 - odd1, shift) & 1023];
        plane[row + 3] = IDCT_RANGE_LIMIT[descale(tmp13 + odd0, shift) & 1023];
        plane[row + 4] = IDCT_RANGE_LIMIT[descale(tmp13 - odd0, shift) & 1023];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoder output: chroma upsampling and YCbCr -> RGB.

const centredTable = (map: (centred: number) => number) =>
  Int32Array.from({ length: 256 }, (_, level) => map(level - 128));
const CR_TO_R = centredTable((c) => (fix16(1.402) * c + ONE_HALF) >> SCALE_BITS);
const CB_TO_B = centredTable((c) => (fix16(1.772) * c + ONE_HALF) >> SCALE_BITS);
const CR_TO_G = centredTable((c) => -fix16(0.71414) * c);
const CB_TO_G = centredTable((c) => -fix16(0.34414) * c + ONE_HALF);

const clampSample = (value: number) => (value < 0 ? 0 : value > 255 ? 255 : value);

function writeGray(planes: JpegPlanes, output: Float32Array): void {
  const { width, height, luma, lumaWidth } = planes;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) output[y * width + x] = LEVEL_TO_UNIT[luma[y * lumaWidth + x]];
  }
}

/**
 * libjpeg's h2v2 "fancy" upsampling: each output sample weighs its chroma sample 9/16, the two
 * nearest neighbours along the axes 3/16 each and the diagonal one 1/16, with neighbours beyond
 * the image data repeating the edge (the decoder ignores the encoder's padding). The rounding
 * constants 8 and 7 alternate between even and odd output columns. libjpeg-turbo falls back to
 * plain replication when the chroma is at most 2 samples wide, and so does this.
 */
function writeRgb(planes: JpegPlanes, output: Float32Array): void {
  const { width, height, chromaWidth, chromaRealWidth, chromaRealHeight, cb, cr, cbRow, crRow } = planes;
  const fancy = chromaRealWidth > 2;
  const lastColumn = chromaRealWidth - 1;
  for (let y = 0; y < height; y++) {
    const chromaRow = y >> 1;
    const near = chromaRow * chromaWidth;
    if (fancy) {
      // Vertical pass first: 3 x the nearer chroma row + the other neighbour (x 4 in total).
      const neighbourRow = y & 1 ? Math.min(chromaRow + 1, chromaRealHeight - 1) : Math.max(chromaRow - 1, 0);
      const far = neighbourRow * chromaWidth;
      for (let j = 0; j < chromaRealWidth; j++) {
        cbRow[j] = 3 * cb[near + j] + cb[far + j];
        crRow[j] = 3 * cr[near + j] + cr[far + j];
      }
    }
    for (let j = 0; j < chromaRealWidth; j++) {
      const x = 2 * j;
      if (fancy) {
        const previous = j > 0 ? j - 1 : 0;
        const next = j < lastColumn ? j + 1 : lastColumn;
        const cbHere = 3 * cbRow[j];
        const crHere = 3 * crRow[j];
        writeRgbPixel(
          planes,
          output,
          y,
          x,
          (cbHere + cbRow[previous] + 8) >> 4,
          (crHere + crRow[previous] + 8) >> 4,
        );
        if (x + 1 < width) {
          writeRgbPixel(
            planes,
            output,
            y,
            x + 1,
            (cbHere + cbRow[next] + 7) >> 4,
            (crHere + crRow[next] + 7) >> 4,
          );
        }
      } else {
        writeRgbPixel(planes, output, y, x, cb[near + j], cr[near + j]);
        if (x + 1 < width) writeRgbPixel(planes, output, y, x + 1, cb[near + j], cr[near + j]);
      }
    }
  }
}

/** libjpeg's fixed-point YCbCr -> RGB of one pixel, clamped to [0, 255], as float32 / 255. */
function writeRgbPixel(
  planes: JpegPlanes,
  output: Float32Array,
  y: number,
  x: number,
  blue: number,
  red: number,
) {
  const { width, height, luma, lumaWidth } = planes;
  const lumaSample = luma[y * lumaWidth + x];
  const i = y * width + x;
  const pixels = width * height;
  output[i] = LEVEL_TO_UNIT[clampSample(lumaSample + CR_TO_R[red])];
  output[pixels + i] =
    LEVEL_TO_UNIT[clampSample(lumaSample + ((CB_TO_G[blue] + CR_TO_G[red]) >> SCALE_BITS))];
  output[2 * pixels + i] = LEVEL_TO_UNIT[clampSample(lumaSample + CB_TO_B[blue])];
}
