/**
 * Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3" (SC'11), as in Random123. A counter-based generator maps (key, counter) to random
 * words with no hidden state, so any sample of any cell can be regenerated on any worker, in any
 * order, with identical bytes: the property Tempest's reproducibility rests on.
 */

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const ROUNDS = 10;

export type PhiloxKey = readonly [number, number];
export type PhiloxCounter = readonly [number, number, number, number];

/** The multipliers split into 16-bit halves (constants, so each round needs no split of them). */
const PHILOX_M0_HI = PHILOX_M0 >>> 16;
const PHILOX_M0_LO = PHILOX_M0 & 0xffff;
const PHILOX_M1_HI = PHILOX_M1 >>> 16;
const PHILOX_M1_LO = PHILOX_M1 & 0xffff;
const TWO_POW_16 = 65536;

/** One Philox4x32-10 block: four uint32 words written into `out`. */
export function philox4x32(counter: PhiloxCounter, key: PhiloxKey, out: Uint32Array): Uint32Array {
  return philoxBlock(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out, 0);
}

/**
 * The block function on plain words, writing out[at..at+3], so streams need not allocate a
 * counter per block and bulk fills can write straight into their target.
 */
function philoxBlock(
  counter0: number,
  counter1: number,
  counter2: number,
  counter3: number,
  key0: number,
  key1: number,
  out: Uint32Array,
  at: number,
): Uint32Array {
  let c0 = counter0 >>> 0;
  let c1 = counter1 | 0;
  let c2 = counter2 >>> 0;
  let c3 = counter3 | 0;
  let k0 = key0 | 0;
  let k1 = key1 | 0;
  for (let round = 0; round < ROUNDS; round++) {
    // High words of M0 * c0 and M1 * c2 (doubles hold only 53 bits exactly): with 16-bit halves,
    // a * M = aHi*MHi * 2^32 + (aLo*MHi + aHi*MLo) * 2^16 + aLo*MLo, so the high word is
    // aHi*MHi + floor((aLo*MHi + aHi*MLo + floor(aLo*MLo / 2^16)) / 2^16). The middle sum is
    // below 2^34, so every step is exact; three products and one carry per word instead of a
    // general mulHi's four products and masked carry sums.
    const a0Lo = c0 & 0xffff;
    const a0Hi = c0 >>> 16;
    const a2Lo = c2 & 0xffff;
    const a2Hi = c2 >>> 16;
    const middle0 = ((a0Lo * PHILOX_M0_LO) >>> 16) + a0Lo * PHILOX_M0_HI + a0Hi * PHILOX_M0_LO;
    const hi0 = a0Hi * PHILOX_M0_HI + Math.floor(middle0 / TWO_POW_16);
    const middle1 = ((a2Lo * PHILOX_M1_LO) >>> 16) + a2Lo * PHILOX_M1_HI + a2Hi * PHILOX_M1_LO;
    const hi1 = a2Hi * PHILOX_M1_HI + Math.floor(middle1 / TWO_POW_16);
    const lo0 = Math.imul(PHILOX_M0, c0);
    const lo1 = Math.imul(PHILOX_M1, c2);
    // ^ and imul give int32 words; >>> 0 keeps c0 and c2 unsigned for the splits above, and the
    // Uint32Array store reads c1 and c3 modulo 2^32 either way.
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    // The key schedule: bumped after each round (the bump after the last one is unused).
    k0 = (k0 + PHILOX_W0) | 0;
    k1 = (k1 + PHILOX_W1) | 0;
  }
  out[at] = c0;
  out[at + 1] = c1;
  out[at + 2] = c2;
  out[at + 3] = c3;
  return out;
}

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/**
 * A sequential view of one Philox stream: the key plus the stream id (counter words 2 and 3) fix
 * the stream, and words 0-1 count blocks. Draw order inside a stream is part of a module's
 * definition; changing it is a version bump of that module.
 */
export class PhiloxStream {
  private readonly block = new Uint32Array(4);
  private used = 4;
  private blockIndex = 0;

  constructor(
    private readonly key: PhiloxKey,
    private readonly streamId: readonly [number, number],
  ) {}

  nextUint32(): number {
    if (this.used === 4) {
      this.nextBlock(this.block, 0);
      this.used = 0;
    }
    return this.block[this.used++];
  }

  /** Write the stream's next block to out[at..at+3] and move the counter on. */
  private nextBlock(out: Uint32Array, at: number): void {
    const lo = this.blockIndex % 0x100000000;
    const hi = Math.floor(this.blockIndex / 0x100000000);
    philoxBlock(lo, hi, this.streamId[0], this.streamId[1], this.key[0], this.key[1], out, at);
    this.blockIndex++;
  }

  /**
   * Fill `out` with the next out.length words: exactly the words that many nextUint32() calls
   * would return, in order, and the stream continues after them; whole blocks are written
   * straight into `out`, without a call per word.
   */
  fillUint32(out: Uint32Array): Uint32Array {
    const length = out.length;
    let i = 0;
    while (i < length && this.used < 4) out[i++] = this.block[this.used++];
    for (; i + 4 <= length; i += 4) this.nextBlock(out, i);
    if (i < length) {
      this.nextBlock(this.block, 0);
      this.used = 0;
      while (i < length) out[i++] = this.block[this.used++];
    }
    return out;
  }

  /**
   * Fill `out` with the next out.length uniformOpen() values (same values, same order, two words
   * each, and the stream continues after them), drawing the words in bulk. `scratch`, if given,
   * holds the words (length at least 2 * out.length) so repeated fills need not allocate.
   */
  fillUniformOpen(out: Float64Array, scratch?: Uint32Array): Float64Array {
    const words = this.fillUint32(
      scratch !== undefined && scratch.length >= 2 * out.length
        ? scratch.subarray(0, 2 * out.length)
        : new Uint32Array(2 * out.length),
    );
    for (let i = 0; i < out.length; i++) {
      const a = words[2 * i] >>> 5;
      const b = words[2 * i + 1] >>> 6;
      out[i] = (a * TWO_POW_26 + b + 0.5) / TWO_POW_53;
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
