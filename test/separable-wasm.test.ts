import { describe, expect, it } from 'vitest';
import {
  gaussianKernel1d,
  separableFilter,
  separableFilterBackend,
  separableFilterJs,
  type BorderMode,
} from '../core/perturb/image/filters';
import { PhiloxStream } from '../core/rng/philox';

describe('separable filter in WebAssembly SIMD', () => {
  it('is the one in use here', () => {
    expect(separableFilterBackend()).toBe('wasm');
  });

  it('gives the JavaScript passes’ exact doubles and float32s: sizes, remainders, kernels, borders', () => {
    const stream = new PhiloxStream([41, 43], [47, 53]);
    const sizes: Array<[number, number]> = [
      [1, 1],
      [3, 7],
      [8, 8],
      [17, 9],
      [28, 28],
      [224, 224],
      [31, 250],
    ];
    const modes: BorderMode[] = ['nearest', 'reflect', 'reflect101'];
    let compared = 0;
    for (const [height, width] of sizes) {
      const src = stream.fillUniform(new Float64Array(height * width));
      for (const [rowSigma, columnSigma] of [
        [0.5, 0.5],
        [1, 3],
        [6, 2],
      ]) {
        const rowKernel = gaussianKernel1d(rowSigma);
        const columnKernel = gaussianKernel1d(columnSigma);
        for (const mode of modes) {
          for (const makeOut of [(n: number) => new Float64Array(n), (n: number) => new Float32Array(n)]) {
            const expected = makeOut(height * width);
            const got = makeOut(height * width);
            separableFilterJs(src, height, width, rowKernel, columnKernel, mode, expected);
            separableFilter(src, height, width, rowKernel, columnKernel, mode, got);
            expect(got).toEqual(expected);
            compared += got.length;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1_000_000);
  });
});
