import { describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { sha256Hex } from '../core/hash';
import { gaussianNoise } from '../core/perturb/image/gaussian-noise';
import { sliceSamples, type Tensor } from '../core/tensor/tensor';
import { applyAtSeverity, bytesOf, imageContext, meanAbsoluteChange } from './helpers/perturb';

const digits = loadMnist('test', 64).inputs;

const perturb = (input: Tensor, severity: number, seed: number, firstSampleIndex = 0): Tensor =>
  applyAtSeverity(gaussianNoise, input, severity, imageContext(seed, firstSampleIndex));

describe('gaussian_noise', () => {
  it('keeps shape and dtype and stays in [0, 1]', () => {
    const output = perturb(digits, 5, 1);
    expect(output.dims).toEqual(digits.dims);
    expect(output.data).toBeInstanceOf(Float32Array);
    expect(output.data.every((value) => value >= 0 && value <= 1)).toBe(true);
  });

  it('gives identical bytes for the same seed and different bytes for another', () => {
    expect(sha256Hex(bytesOf(perturb(digits, 3, 1)))).toBe(sha256Hex(bytesOf(perturb(digits, 3, 1))));
    expect(sha256Hex(bytesOf(perturb(digits, 3, 1)))).not.toBe(sha256Hex(bytesOf(perturb(digits, 3, 2))));
  });

  it('does not depend on batching: each sample draws from its own stream', () => {
    const whole = perturb(digits, 2, 7);
    const first = perturb(sliceSamples(digits, 0, 10), 2, 7, 0);
    const rest = perturb(sliceSamples(digits, 10, 64), 2, 7, 10);
    expect([...first.data, ...rest.data]).toEqual([...whole.data]);
  });

  it('moves real digits further from the clean image as severity grows', () => {
    const distances = [1, 2, 3, 4, 5].map((severity) =>
      meanAbsoluteChange(perturb(digits, severity, 3), digits),
    );
    for (let s = 1; s < 5; s++) expect(distances[s]).toBeGreaterThan(distances[s - 1]);
  });

  it('adds noise with the published sigma where clipping cannot interfere', () => {
    const gray: Tensor = { dims: [20, 1, 28, 28], data: new Float32Array(20 * 784).fill(0.5) };
    const output = perturb(gray, 1, 11);
    const noise = Array.from(output.data, (value) => value - 0.5);
    const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
    const sd = Math.sqrt(noise.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (noise.length - 1));
    // sigma 0.08 at severity 1; with 15,680 draws the SD estimate is within ~2% (5 standard errors).
    expect(Math.abs(mean)).toBeLessThan(0.004);
    expect(Math.abs(sd - 0.08) / 0.08).toBeLessThan(0.03);
  });

  it('pins the output bytes of version 1.1.0 on fixed input', () => {
    expect(gaussianNoise.version).toBe('1.1.0');
    expect(sha256Hex(bytesOf(perturb(digits, 3, 1)))).toMatchInlineSnapshot(
      `"cc4006a2fa0907c7d336826e4a7306eebb15276d87c428947e434b9321eab9fe"`,
    );
  });
});
