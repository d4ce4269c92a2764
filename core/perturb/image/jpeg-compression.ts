import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { makeTensor } from '../../tensor/tensor';
import { quantizerFor, roundTripPlane } from './jpeg-dct';
import { imageShapeOf } from './layout';

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
  apply(batch, params) {
    // Not mapImages: every output value is a level k / 255, already in [0, 1], so its clipping
    // pass would change nothing, and it costs a large share of this module's time.
    const { channels, height, width } = imageShapeOf(batch, 'jpeg_compression');
    const lumaQuantizer = quantizerFor(scaledQuantTable(LUMA_BASE_TABLE, params.quality));
    const chromaQuantizer = quantizerFor(scaledQuantTable(CHROMA_BASE_TABLE, params.quality));
    const codec = planesFor(height, width);
    const output = makeTensor(batch.dims);
    const perImage = channels * height * width;
    for (let sample = 0; sample < batch.dims[0]; sample++) {
      const offset = sample * perImage;
      if (channels === 1) {
        fillLumaFromGray(batch.data, offset, codec);
        roundTripPlane(codec.luma, codec.lumaWidth, codec.lumaHeight, lumaQuantizer, codec.block);
        writeGray(codec, output.data, offset);
      } else {
        fillYCbCr(batch.data, offset, codec);
        roundTripPlane(codec.luma, codec.lumaWidth, codec.lumaHeight, lumaQuantizer, codec.block);
        roundTripPlane(codec.cb, codec.chromaWidth, codec.chromaHeight, chromaQuantizer, codec.block);
        roundTripPlane(codec.cr, codec.chromaWidth, codec.chromaHeight, chromaQuantizer, codec.block);
        writeRgb(codec, output.data, offset);
      }
    }
    return output;
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

/**
 * Sample level k as a float32 value k / 255, for k from -256 to 511 at index k + 256 (levels
 * outside 0-255 clamp): the decoder's colour conversion and clamping in one lookup.
 */
const CLAMPED_UNIT_OFFSET = 256;
const CLAMPED_UNIT = Float32Array.from({ length: 768 }, (_, index) => {
  const level = index - CLAMPED_UNIT_OFFSET;
  return (level < 0 ? 0 : level > 255 ? 255 : level) / 255;
});

function fillLumaFromGray(gray: Float32Array, offset: number, planes: JpegPlanes): void {
  const { width, height, luma, lumaWidth, lumaHeight } = planes;
  for (let y = 0; y < height; y++) {
    const row = y * lumaWidth;
    const input = offset + y * width;
    for (let x = 0; x < width; x++) luma[row + x] = toSample(gray[input + x]);
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
  if (width < paddedWidth) {
    for (let y = 0; y < height; y++) {
      const row = y * paddedWidth;
      plane.fill(plane[row + width - 1], row + width, row + paddedWidth);
    }
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

function fillYCbCr(rgb: Float32Array, offset: number, planes: JpegPlanes): void {
  const { width, height, luma, lumaWidth, lumaHeight, fullCb, fullCr } = planes;
  const pixels = width * height;
  // Row by row through a small function: V8 then optimizes the whole row loop with complete
  // type feedback instead of compiling this loop mid-way (and deoptimizing) on the first images.
  for (let y = 0; y < height; y++) {
    convertRow(rgb, offset + y * width, pixels, width, luma, y * lumaWidth, fullCb, fullCr, y * width);
  }
  replicateEdges(luma, width, height, lumaWidth, lumaHeight);
  subsample(fullCb, planes.cb, planes);
  subsample(fullCr, planes.cr, planes);
}

/** One row of RGB samples (planes `pixels` apart from `input`) to Y and full-resolution Cb, Cr. */
function convertRow(
  rgb: Float32Array,
  input: number,
  pixels: number,
  width: number,
  luma: Uint8Array,
  lumaRow: number,
  fullCb: Uint8Array,
  fullCr: Uint8Array,
  chromaRow: number,
): void {
  for (let x = 0; x < width; x++) {
    const red = toSample(rgb[input + x]);
    const green = toSample(rgb[input + pixels + x]);
    const blue = toSample(rgb[input + 2 * pixels + x]);
    luma[lumaRow + x] = (R_Y * red + G_Y * green + B_Y * blue + ONE_HALF) >> SCALE_BITS;
    fullCb[chromaRow + x] = (HALF * blue - R_CB * red - G_CB * green + CHROMA_BIAS) >> SCALE_BITS;
    fullCr[chromaRow + x] = (HALF * red - G_CR * green - B_CR * blue + CHROMA_BIAS) >> SCALE_BITS;
  }
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
  // Chroma columns whose two source columns are both inside the image.
  const inner = width >> 1;
  for (let i = 0; i < chromaRealHeight; i++) {
    const top = 2 * i * width;
    const bottom = (2 * i + 1 < height ? 2 * i + 1 : height - 1) * width;
    const row = i * chromaWidth;
    for (let j = 0; j < inner; j++) {
      const left = 2 * j;
      chroma[row + j] =
        (full[top + left] +
          full[top + left + 1] +
          full[bottom + left] +
          full[bottom + left + 1] +
          1 +
          (j & 1)) >>
        2;
    }
    for (let j = inner; j < chromaWidth; j++) {
      const left = Math.min(2 * j, lastColumn);
      const right = Math.min(2 * j + 1, lastColumn);
      chroma[row + j] =
        (full[top + left] + full[top + right] + full[bottom + left] + full[bottom + right] + 1 + (j & 1)) >>
        2;
    }
  }
  const lastRow = (chromaRealHeight - 1) * chromaWidth;
  for (let i = chromaRealHeight; i < chromaHeight; i++) {
    chroma.copyWithin(i * chromaWidth, lastRow, lastRow + chromaWidth);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoder output: chroma upsampling and YCbCr -> RGB.

const centredTable = (map: (centred: number) => number) =>
  Int32Array.from({ length: 256 }, (_, level) => map(level - 128));
/** Red and blue offsets from Y, with the lookup table's index offset folded in. */
const CR_TO_R = centredTable((c) => ((fix16(1.402) * c + ONE_HALF) >> SCALE_BITS) + CLAMPED_UNIT_OFFSET);
const CB_TO_B = centredTable((c) => ((fix16(1.772) * c + ONE_HALF) >> SCALE_BITS) + CLAMPED_UNIT_OFFSET);
const CR_TO_G = centredTable((c) => -fix16(0.71414) * c);
const CB_TO_G = centredTable((c) => -fix16(0.34414) * c + ONE_HALF);

function writeGray(planes: JpegPlanes, output: Float32Array, offset: number): void {
  const { width, height, luma, lumaWidth } = planes;
  for (let y = 0; y < height; y++) {
    const row = y * lumaWidth;
    const out = offset + y * width;
    for (let x = 0; x < width; x++) output[out + x] = CLAMPED_UNIT[luma[row + x] + CLAMPED_UNIT_OFFSET];
  }
}

/**
 * libjpeg's h2v2 "fancy" upsampling: each output sample weighs its chroma sample 9/16, the two
 * nearest neighbours along the axes 3/16 each and the diagonal one 1/16, with neighbours beyond
 * the image data repeating the edge (the decoder ignores the encoder's padding). The rounding
 * constants 8 and 7 alternate between even and odd output columns. libjpeg-turbo falls back to
 * plain replication when the chroma is at most 2 samples wide, and so does this. Then libjpeg's
 * fixed-point YCbCr -> RGB, clamped to [0, 255], as float32 / 255.
 */
function writeRgb(planes: JpegPlanes, output: Float32Array, offset: number): void {
  const { width, height, chromaWidth, chromaRealWidth, chromaRealHeight, cb, cr, cbRow, crRow, lumaWidth } =
    planes;
  const fancy = chromaRealWidth > 2;
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
    } else {
      for (let j = 0; j < chromaRealWidth; j++) {
        cbRow[j] = cb[near + j];
        crRow[j] = cr[near + j];
      }
    }
    colourRow(planes, output, offset + y * width, y * lumaWidth, fancy);
  }
}

/** One output row from its luma row and the vertically upsampled chroma sums in cbRow, crRow. */
function colourRow(
  planes: JpegPlanes,
  output: Float32Array,
  red: number,
  lumaRow: number,
  fancy: boolean,
): void {
  const { width, height, chromaRealWidth, cbRow, crRow, luma } = planes;
  const lastColumn = chromaRealWidth - 1;
  const green = red + width * height;
  const blue = green + width * height;
  for (let j = 0; j < chromaRealWidth; j++) {
    const x = 2 * j;
    let cbEven: number;
    let crEven: number;
    let cbOdd: number;
    let crOdd: number;
    if (fancy) {
      const previous = j > 0 ? j - 1 : 0;
      const next = j < lastColumn ? j + 1 : lastColumn;
      const cbHere = 3 * cbRow[j];
      const crHere = 3 * crRow[j];
      cbEven = (cbHere + cbRow[previous] + 8) >> 4;
      crEven = (crHere + crRow[previous] + 8) >> 4;
      cbOdd = (cbHere + cbRow[next] + 7) >> 4;
      crOdd = (crHere + crRow[next] + 7) >> 4;
    } else {
      cbEven = cbOdd = cbRow[j];
      crEven = crOdd = crRow[j];
    }
    const lumaEven = luma[lumaRow + x];
    output[red + x] = CLAMPED_UNIT[lumaEven + CR_TO_R[crEven]];
    output[green + x] =
      CLAMPED_UNIT[lumaEven + ((CB_TO_G[cbEven] + CR_TO_G[crEven]) >> SCALE_BITS) + CLAMPED_UNIT_OFFSET];
    output[blue + x] = CLAMPED_UNIT[lumaEven + CB_TO_B[cbEven]];
    if (x + 1 < width) {
      const lumaOdd = luma[lumaRow + x + 1];
      output[red + x + 1] = CLAMPED_UNIT[lumaOdd + CR_TO_R[crOdd]];
      output[green + x + 1] =
        CLAMPED_UNIT[lumaOdd + ((CB_TO_G[cbOdd] + CR_TO_G[crOdd]) >> SCALE_BITS) + CLAMPED_UNIT_OFFSET];
      output[blue + x + 1] = CLAMPED_UNIT[lumaOdd + CB_TO_B[cbOdd]];
    }
  }
}
