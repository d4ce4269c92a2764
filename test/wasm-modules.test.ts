import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fromRoot, WASM_SOURCES, wasmModuleText } from '../infra/build-wasm';

describe('WebAssembly modules', () => {
  it.each(WASM_SOURCES.map((source) => [source.wat, source] as const))(
    '%s is the committed compilation of its source',
    async (_, source) => {
      const fresh = await wasmModuleText(source, await readFile(fromRoot(source.wat), 'utf8'));
      expect(await readFile(fromRoot(source.bytesModule), 'utf8')).toBe(fresh);
    },
  );
});
