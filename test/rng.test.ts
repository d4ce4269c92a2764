import { describe, expect, it } from 'vitest';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { philox4x32, PhiloxStream } from '../core/rng/philox';

const hex = (words: Uint32Array) => [...words].map((word) => word.toString(16).padStart(8, '0'));

describe('Philox4x32-10', () => {
  // Known-answer vectors from Random123's tests/kat_vectors (DEShawResearch/random123),
  // columns: counter[4], key[2] -> output[4].
  it('matches the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0], out))).toEqual([
      '6627e8d5',
      'e169c58d',
      'bc57ac4c',
      '9b00dbd8',
    ]);
    expect(
      hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], out)),
    ).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(
      hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], out)),
    ).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });

  it('equals an exact BigInt Philox on random and extreme words (the double multiply-high is exact)', () => {
    // An independent implementation with exact 64-bit products, straight from the definition.
    const mask = 0xffffffffn;
    const reference = (counter: number[], key: number[]): number[] => {
      let [c0, c1, c2, c3] = counter.map(BigInt);
      let [k0, k1] = key.map(BigInt);
      for (let round = 0; round < 10; round++) {
        const product0 = 0xd2511f53n * c0;
        const product1 = 0xcd9e8d57n * c2;
        [c0, c1, c2, c3] = [
          (product1 >> 32n) ^ c1 ^ k0,
          product1 & mask,
          (product0 >> 32n) ^ c3 ^ k1,
          product0 & mask,
        ];
        k0 = (k0 + 0x9e3779b9n) & mask;
        k1 = (k1 + 0xbb67ae85n) & mask;
      }
      return [c0, c1, c2, c3].map(Number);
    };
    const words = new PhiloxStream([21, 22], [23, 24]);
    const extremes = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    const pick = (i: number): number =>
      i % 5 === 0 ? extremes[words.nextUint32() % extremes.length] : words.nextUint32();
    const out = new Uint32Array(4);
    for (let i = 0; i < 20_000; i++) {
      const counter = [pick(i), pick(i + 1), pick(i + 2), pick(i + 3)];
      const key = [pick(i + 4), pick(i)];
      expect([
        ...philox4x32(counter as [number, number, number, number], key as [number, number], out),
      ]).toEqual(reference(counter, key));
    }
  });

  it('streams walk the counter: block n of a stream is philox(n, streamId)', () => {
    const stream = new PhiloxStream([7, 9], [3, 0]);
    // Streams draw blocks in pairs: check across several pairs, block by block.
    const first = Array.from({ length: 40 }, () => stream.nextUint32());
    const out = new Uint32Array(4);
    for (let block = 0; block < 10; block++) {
      expect(first.slice(4 * block, 4 * block + 4)).toEqual([...philox4x32([block, 0, 3, 0], [7, 9], out)]);
    }
  });

  it('bulk fills return exactly the words and uniforms of single draws, from any position', () => {
    for (const lead of [0, 1, 3, 5, 7, 8, 9]) {
      const single = new PhiloxStream([11, 13], [lead, 1]);
      const bulk = new PhiloxStream([11, 13], [lead, 1]);
      for (let i = 0; i < lead; i++) expect(bulk.nextUint32()).toBe(single.nextUint32());
      const words = bulk.fillUint32(new Uint32Array(8 * lead + 5));
      expect([...words]).toEqual(Array.from(words, () => single.nextUint32()));
      const uniforms = bulk.fillUniform(new Float64Array(7 + lead), new Uint32Array(64));
      expect([...uniforms]).toEqual(Array.from(uniforms, () => single.uniform()));
      const closed = bulk.fillUniform(new Float64Array(100 + lead));
      expect([...closed]).toEqual(Array.from(closed, () => single.uniform()));
      // The stream goes on after a fill exactly where single draws would be.
      expect(bulk.nextUint32()).toBe(single.nextUint32());
    }
  });

  it('gives uniforms in [0, 1) with the expected mean and variance', () => {
    const stream = new PhiloxStream([1, 2], [0, 0]);
    const draws = Array.from({ length: 200_000 }, () => stream.uniform());
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    const variance = draws.reduce((sum, x) => sum + (x - mean) ** 2, 0) / draws.length;
    // Standard errors: mean 0.00065, variance 0.00019; 5 sigma bounds.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.0033);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.001);
  });
});

describe('keyed sample streams', () => {
  it('depend only on the scope and sample index, not on call order', () => {
    const key = deriveKey({ seed: 1, data: 'abc' });
    const forward = [0, 1, 2].map((index) => sampleStream(key, index).uniform());
    const backward = [2, 1, 0].map((index) => sampleStream(key, index).uniform()).reverse();
    expect(forward).toEqual(backward);
  });

  it('ignore property order in the scope but not its values', () => {
    expect(deriveKey({ a: 1, b: 2 })).toEqual(deriveKey({ b: 2, a: 1 }));
    expect(deriveKey({ a: 1, b: 2 })).not.toEqual(deriveKey({ a: 1, b: 3 }));
  });

  it('pin the first draws of a fixed scope (a change here changes every perturbed input)', () => {
    const key = deriveKey({ pinned: 'tempest-rng-vector' });
    const stream = sampleStream(key, 42);
    const words = Array.from({ length: 4 }, () => stream.nextUint32().toString(16).padStart(8, '0'));
    expect({ key: key.map((k) => k.toString(16).padStart(8, '0')), words }).toMatchInlineSnapshot(`
      {
        "key": [
          "ddef2772",
          "95fa00dd",
        ],
        "words": [
          "05905366",
          "76600688",
          "3dfc0e37",
          "0d83a35b",
        ],
      }
    `);
  });
});
