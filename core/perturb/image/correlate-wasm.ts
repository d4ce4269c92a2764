import { instantiateWasm, type WasmMemory } from '../../wasm';
import { CORRELATE_WASM_BASE64 } from './correlate-wasm-bytes';

/**
 * The separable filter's two passes in WebAssembly SIMD (correlate.wat): the same doubles as
 * filters.ts's JavaScript loops, two outputs per instruction. filters.ts lays the planes out in
 * this module's memory (see `reserve`), calls the passes and copies the result out; it checks
 * the module against its JavaScript at load and uses JavaScript alone where they disagree.
 */
export interface CorrelateWasm {
  /** Memory of at least `bytes` bytes (grown if needed; views made before a grow are detached). */
  reserve(bytes: number): ArrayBuffer;
  /** out[i] = sum over k < taps of kernel[k] * line[i + k], for i < length (byte offsets). */
  correlateLine(line: number, kernel: number, taps: number, length: number, out: number): void;
  /** out[y * width + x] = sum over k < taps of kernel[k] * temp[rowStart[y + k] + x]. */
  correlateColumns(
    temp: number,
    rowStart: number,
    kernel: number,
    taps: number,
    height: number,
    width: number,
    out: number,
  ): void;
}

interface CorrelateExports {
  readonly memory: WasmMemory;
  readonly correlateLine: CorrelateWasm['correlateLine'];
  readonly correlateColumns: CorrelateWasm['correlateColumns'];
}

const PAGE_BYTES = 65536;

export function loadCorrelateWasm(): CorrelateWasm | undefined {
  const exports = instantiateWasm<CorrelateExports>(CORRELATE_WASM_BASE64);
  if (exports === undefined) return undefined;
  const { memory } = exports;
  return {
    reserve(bytes) {
      const missing = bytes - memory.buffer.byteLength;
      if (missing > 0) memory.grow(Math.ceil(missing / PAGE_BYTES));
      return memory.buffer;
    },
    correlateLine: exports.correlateLine,
    correlateColumns: exports.correlateColumns,
  };
}
