import { describe, expect, it } from 'vitest';
import { makeWasmBlockFill } from '../core/rng/philox-wasm';
import { philox4x32, PhiloxStream } from '../core/rng/philox';

const reference = (counter: readonly [number, number, number, number], key: readonly [number, number]) =>
  philox4x32(counter, key, new Uint32Array(4));

describe('Philox in WebAssembly', () => {
  it('loads here and gives the JavaScript blocks, across its chunk size and a word-0 carry', () => {
    const fill = makeWasmBlockFill(reference);
    expect(fill).toBeDefined();
    const blocks = 40_000; // more than one 16,384-block chunk
    const out = new Uint32Array(4 * blocks + 3);
    const lo = 0xffffffff - 20_000; // the counter's word 0 wraps into word 1 inside the run
    fill!([0x12345678, 0x9abcdef0], [5, 0xffffffff], lo, 7, blocks, out, 3);
    for (const block of [0, 1, 16_383, 16_384, 16_385, 20_000, 20_001, 32_768, blocks - 1]) {
      const sum = lo + block;
      const counter = [sum % 2 ** 32, 7 + Math.floor(sum / 2 ** 32), 5, 0xffffffff] as const;
      expect([...out.subarray(3 + 4 * block, 7 + 4 * block)]).toEqual([
        ...reference(counter, [0x12345678, 0x9abcdef0]),
      ]);
    }
  });

  it('streams give the same words through long bulk fills as word by word', () => {
    for (const lead of [0, 3, 7]) {
      const bulk = new PhiloxStream([31, 37], [lead, 2]);
      const single = new PhiloxStream([31, 37], [lead, 2]);
      for (let i = 0; i < lead; i++) expect(bulk.nextUint32()).toBe(single.nextUint32());
      const words = bulk.fillUint32(new Uint32Array(150_528 + lead));
      const expected = Uint32Array.from(words, () => single.nextUint32());
      expect(words).toEqual(expected);
      expect(bulk.nextUint32()).toBe(single.nextUint32());
    }
  });
});
