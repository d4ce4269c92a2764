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

/** High 32 bits of the 64-bit product of two uint32 values (doubles hold only 53 bits exactly). */
function mulHi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const loHi = aLo * bHi;
  const hiLo = aHi * bLo;
  const carry = ((loLo >>> 16) + (loHi & 0xffff) + (hiLo & 0xffff)) >>> 16;
  return (aHi * bHi + (loHi >>> 16) + (hiLo >>> 16) + carry) >>> 0;
}

/** One Philox4x32-10 block: four uint32 words written into `out`. */
export function philox4x32(counter: PhiloxCounter, key: PhiloxKey, out: Uint32Array): Uint32Array {
  return philoxBlock(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out);
}

/** The block function on plain words, so streams need not allocate a counter per block. */
function philoxBlock(
  counter0: number,
  counter1: number,
  counter2: number,
  counter3: number,
  key0: number,
  key1: number,
  out: Uint32Array,
): Uint32Array {
  let c0 = counter0 >>> 0;
  let c1 = counter1 >>> 0;
  let c2 = counter2 >>> 0;
  let c3 = counter3 >>> 0;
  let k0 = key0 >>> 0;
  let k1 = key1 >>> 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulHi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulHi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
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
      const lo = this.blockIndex % 0x100000000;
      const hi = Math.floor(this.blockIndex / 0x100000000);
      philoxBlock(lo, hi, this.streamId[0], this.streamId[1], this.key[0], this.key[1], this.block);
      this.blockIndex++;
      this.used = 0;
    }
    return this.block[this.used++];
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
