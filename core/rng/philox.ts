/**
 * Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3" (SC'11), as in Random123. A counter-based generator maps (key, counter) to random
 * words with no hidden state, so any sample of any cell can be regenerated on any worker, in any
 * order, with identical bytes: the property Tempest's reproducibility rests on.
 */

import { makeWasmBlockFill } from './philox-wasm';

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const ROUNDS = 10;

export type PhiloxKey = readonly [number, number];
export type PhiloxCounter = readonly [number, number, number, number];

/** 2^-32: scales a product's upper bits down to its high word (a power of two, so exact). */
const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

const PAIR_SCRATCH = new Uint32Array(8);

/** One Philox4x32-10 block: four uint32 words written into `out`. */
export function philox4x32(counter: PhiloxCounter, key: PhiloxKey, out: Uint32Array): Uint32Array {
  const pair = philoxBlockPair(
    counter[0],
    counter[1],
    counter[2],
    counter[3],
    key[0],
    key[1],
    PAIR_SCRATCH,
    0,
  );
  out.set(pair.subarray(0, 4));
  return out;
}

/**
 * Two consecutive blocks, counters (c0, c1, c2, c3) and (c0, c1) + 1 with the same c2, c3 and key,
 * written to out[at..at+7]. The two blocks' rounds are interleaved: one block's round is a chain
 * of dependent operations, and two independent chains keep the processor busy while each waits,
 * so a pair costs much less than two single blocks. Streams draw whole pairs.
 */
function philoxBlockPair(
  counter0: number,
  counter1: number,
  counter2: number,
  counter3: number,
  key0: number,
  key1: number,
  out: Uint32Array,
  at: number,
): Uint32Array {
  let a0 = counter0 >>> 0;
  let a1 = counter1 | 0;
  let a2 = counter2 >>> 0;
  let a3 = counter3 | 0;
  // The next counter: word 0 plus one, carried into word 1.
  let b0 = (a0 + 1) >>> 0;
  let b1 = b0 === 0 ? (a1 + 1) | 0 : a1;
  let b2 = a2;
  let b3 = a3;
  let k0 = key0 | 0;
  let k1 = key1 | 0;
  for (let round = 0; round < ROUNDS; round++) {
    // The 64-bit products M0 * c0 and M1 * c2: imul gives the low words exactly. The double
    // product is rounded by at most 2^10 (half its unit in the last place, at most 2^11 below
    // 2^64) and subtracting the low word by at most another 2^10, so scaled by 2^-32 it is the
    // high word within 2^-21, and the + 0.5 makes the truncation by ^ (ToInt32) land on it:
    // five cheap operations instead of splitting the words into 16-bit halves.
    const aLo0 = Math.imul(PHILOX_M0, a0);
    const bLo0 = Math.imul(PHILOX_M0, b0);
    const aLo1 = Math.imul(PHILOX_M1, a2);
    const bLo1 = Math.imul(PHILOX_M1, b2);
    const aHi0 = (PHILOX_M0 * a0 - (aLo0 >>> 0)) * TWO_POW_MINUS_32 + 0.5;
    const bHi0 = (PHILOX_M0 * b0 - (bLo0 >>> 0)) * TWO_POW_MINUS_32 + 0.5;
    const aHi1 = (PHILOX_M1 * a2 - (aLo1 >>> 0)) * TWO_POW_MINUS_32 + 0.5;
    const bHi1 = (PHILOX_M1 * b2 - (bLo1 >>> 0)) * TWO_POW_MINUS_32 + 0.5;
    // ^ and imul give int32 words; >>> 0 keeps words 0 and 2 unsigned for the products above,
    // and the Uint32Array store reads words 1 and 3 modulo 2^32 either way.
    a0 = (aHi1 ^ a1 ^ k0) >>> 0;
    b0 = (bHi1 ^ b1 ^ k0) >>> 0;
    a1 = aLo1;
    b1 = bLo1;
    a2 = (aHi0 ^ a3 ^ k1) >>> 0;
    b2 = (bHi0 ^ b3 ^ k1) >>> 0;
    a3 = aLo0;
    b3 = bLo0;
    // The key schedule: bumped after each round (the bump after the last one is unused).
    k0 = (k0 + PHILOX_W0) | 0;
    k1 = (k1 + PHILOX_W1) | 0;
  }
  out[at] = a0;
  out[at + 1] = a1;
  out[at + 2] = a2;
  out[at + 3] = a3;
  out[at + 4] = b0;
  out[at + 5] = b1;
  out[at + 6] = b2;
  out[at + 7] = b3;
  return out;
}

/**
 * Bulk fills of at least WASM_MIN_BLOCKS blocks go through WebAssembly (same words, checked at
 * load against philox4x32; undefined where unavailable); shorter ones are not worth the call.
 */
const WASM_BLOCK_FILL = makeWasmBlockFill((counter, key) => philox4x32(counter, key, new Uint32Array(4)));
const WASM_MIN_BLOCKS = 16;

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/**
 * A sequential view of one Philox stream: the key plus the stream id (counter words 2 and 3) fix
 * the stream, and words 0-1 count blocks. Draw order inside a stream is part of a module's
 * definition; changing it is a version bump of that module.
 */
export class PhiloxStream {
  /** Two blocks drawn at once (see philoxBlockPair), handed out word by word. */
  private readonly blocks = new Uint32Array(8);
  private used = 8;
  private blockIndex = 0;

  constructor(
    private readonly key: PhiloxKey,
    private readonly streamId: readonly [number, number],
  ) {}

  nextUint32(): number {
    if (this.used === 8) {
      this.nextBlockPair(this.blocks, 0);
      this.used = 0;
    }
    return this.blocks[this.used++];
  }

  /** Write the stream's next two blocks to out[at..at+7] and move the counter on. */
  private nextBlockPair(out: Uint32Array, at: number): void {
    philoxBlockPair(
      this.counterLo(),
      this.counterHi(),
      this.streamId[0],
      this.streamId[1],
      this.key[0],
      this.key[1],
      out,
      at,
    );
    this.blockIndex += 2;
  }

  /** Words 0 and 1 of the next block's counter. */
  private counterLo(): number {
    return this.blockIndex % 0x100000000;
  }
  private counterHi(): number {
    return Math.floor(this.blockIndex / 0x100000000);
  }

  /**
   * Fill `out` with the next out.length words: exactly the words that many nextUint32() calls
   * would return, in order, and the stream continues after them; whole blocks are written
   * straight into `out` (by WebAssembly for long fills), without a call per word.
   */
  fillUint32(out: Uint32Array): Uint32Array {
    const length = out.length;
    let i = 0;
    while (i < length && this.used < 8) out[i++] = this.blocks[this.used++];
    const wholeBlocks = (length - i) >>> 2;
    if (WASM_BLOCK_FILL !== undefined && wholeBlocks >= WASM_MIN_BLOCKS) {
      WASM_BLOCK_FILL(this.key, this.streamId, this.counterLo(), this.counterHi(), wholeBlocks, out, i);
      this.blockIndex += wholeBlocks;
      i += 4 * wholeBlocks;
    }
    for (; i + 8 <= length; i += 8) this.nextBlockPair(out, i);
    if (i < length) {
      this.nextBlockPair(this.blocks, 0);
      this.used = 0;
      while (i < length) out[i++] = this.blocks[this.used++];
    }
    return out;
  }

  /**
   * Fill `out` with the next out.length uniform() values (same values, same order, two words
   * each, and the stream continues after them), drawing the words in bulk. `scratch`, if given,
   * holds the words (length at least 2 * out.length) so repeated fills need not allocate.
   */
  fillUniform(out: Float64Array, scratch?: Uint32Array): Float64Array {
    const words = this.fillUint32(
      scratch !== undefined && scratch.length >= 2 * out.length
        ? scratch.subarray(0, 2 * out.length)
        : new Uint32Array(2 * out.length),
    );
    for (let i = 0; i < out.length; i++) {
      const a = words[2 * i] >>> 5;
      const b = words[2 * i + 1] >>> 6;
      out[i] = (a * TWO_POW_26 + b) / TWO_POW_53;
    }
    return out;
  }

  /** Uniform double in [0, 1) with 53 random bits, the same construction as NumPy's random_double. */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /** Uniform double in the open interval (0, 1), for inverse-CDF sampling (never 0 or 1). */
  uniformOpen(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * TWO_POW_26 + b + 0.5) / TWO_POW_53;
  }
}
