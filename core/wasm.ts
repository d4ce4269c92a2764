/**
 * Instantiating the project's small WebAssembly modules (compiled from .wat sources by
 * infra/build-wasm.ts). Each user checks its module against the JavaScript it replaces at load
 * and falls back to JavaScript where WebAssembly is missing or disagrees.
 */

/** The part of the WebAssembly JavaScript API used here (the project's lib has no DOM types). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

/** A module's memory: its buffer is replaced (the old one detached) whenever it grows. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The exports of the module in `base64`, or undefined where it cannot be instantiated. */
export function instantiateWasm<Exports>(base64: string): Exports | undefined {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined) return undefined;
  try {
    return new api.Instance(new api.Module(Buffer.from(base64, 'base64')), {}).exports as Exports;
  } catch {
    return undefined;
  }
}
