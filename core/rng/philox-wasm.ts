import { instantiateWasm, type WasmMemory } from '../wasm';
import { PHILOX_WASM_BASE64 } from './philox-wasm-bytes';

/**
 * Bulk Philox blocks through WebAssembly (core/rng/philox.wat): i64.mul gives the 64-bit
 * products JavaScript has to assemble from doubles, about three times faster per block. The
 * module is compiled once at load and checked against `reference` (the JavaScript block
 * function) on a few counters; where WebAssembly is missing or disagrees, makeWasmBlockFill
 * returns undefined and streams use JavaScript alone, with the same words.
 */

/** Writes `blocks` blocks from block counter (lo, hi) of stream (key, streamId) to out[at..]. */
export type BlockFill = (
  key: readonly [number, number],
  streamId: readonly [number, number],
  counterLo: number,
  counterHi: number,
  blocks: number,
  out: Uint32Array,
  at: number,
) => void;

interface PhiloxExports {
  readonly memory: WasmMemory;
  readonly fill: (
    key0: number,
    key1: number,
    stream0: number,
    stream1: number,
    counterLo: number,
    counterHi: number,
    blocks: number,
  ) => void;
}

/**
 * The WebAssembly fill, or undefined. `reference(counter, key)` gives the JavaScript block for
 * the self-check (counters with carries and all-ones words included).
 */
export function makeWasmBlockFill(
  reference: (
    counter: readonly [number, number, number, number],
    key: readonly [number, number],
  ) => Uint32Array,
): BlockFill | undefined {
  const exports = instantiateWasm<PhiloxExports>(PHILOX_WASM_BASE64);
  if (exports === undefined) return undefined;
  const { memory, fill } = exports;
  // Blocks per call: the module's memory (4 pages) holds this many 16-byte blocks.
  const capacity = memory.buffer.byteLength >>> 4;
  const blockFill: BlockFill = (key, streamId, counterLo, counterHi, blocks, out, at) => {
    let lo = counterLo;
    let hi = counterHi;
    let offset = at;
    for (let left = blocks; left > 0;) {
      const chunk = Math.min(left, capacity);
      fill(key[0], key[1], streamId[0], streamId[1], lo, hi, chunk);
      out.set(new Uint32Array(memory.buffer, 0, 4 * chunk), offset);
      offset += 4 * chunk;
      left -= chunk;
      lo += chunk;
      if (lo > 0xffffffff) {
        lo -= 0x100000000;
        hi = (hi + 1) >>> 0;
      }
    }
  };
  const checks: Array<[readonly [number, number], readonly [number, number], number, number]> = [
    [[0, 0], [0, 0], 0, 0],
    [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], 0xfffffffe, 0xffffffff],
    [[0xa4093822, 0x299f31d0], [0x13198a2e, 0x03707344], 0x243f6a88, 0x85a308d3],
  ];
  const got = new Uint32Array(12);
  for (const [key, streamId, lo, hi] of checks) {
    blockFill(key, streamId, lo, hi, 3, got, 0);
    for (let block = 0; block < 3; block++) {
      // Counter + block, carried from word 0 into word 1 (and wrapping at 2^64).
      const sum = lo + block;
      const counter = [
        sum % 0x100000000,
        (hi + Math.floor(sum / 0x100000000)) % 0x100000000,
        streamId[0],
        streamId[1],
      ] as const;
      const expected = reference(counter, key);
      for (let word = 0; word < 4; word++) if (got[4 * block + word] !== expected[word]) return undefined;
    }
  }
  return blockFill;
}
