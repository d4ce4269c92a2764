import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../core/data/mnist';
import { makeTensor } from '../core/tensor/tensor';
import { Float64Model } from './helpers/float64-forward';
import { ALL_LOSSES, checkGradientFloat64, oracleFor, seeded } from './helpers/gradient-check';

const DIGITS = 3;
const modelBytes = (name: string) =>
  readFileSync(join(__dirname, '..', 'examples', 'models', `${name}.onnx`));

/**
 * The example models on real test digits, all four losses, against central differences of a
 * float64 forward pass of the same weights (test/helpers/float64-forward.ts).
 *
 * The CNN's digits get a seeded jitter of +-2^-4 (16 gray levels): on the constant background
 * of a raw digit, neighbouring conv outputs are exactly equal, so max pooling sits on exact ties
 * where it has no derivative (finite differences then average the tied inputs' one-sided slopes,
 * about 30% off any single subgradient); the jitter moves the digit off those ties.
 */
describe('gradient graph of the example MNIST models (real ORT, real digits)', () => {
  const { inputs, labels: allLabels } = loadMnist('test', DIGITS);
  const labels = allLabels.slice(0, DIGITS);
  const targets = Int32Array.from(labels, (label) => (label + 3) % 10);

  for (const [name, jitter, step] of [
    ['mnist-mlp', 0, 1e-4],
    ['mnist-cnn', 2 ** -4, 1e-6],
  ] as const) {
    it(`${name}: gradient within 1e-3 of float64 finite differences for every loss`, async () => {
      const bytes = modelBytes(name);
      const oracle = await oracleFor(bytes);
      try {
        const noise = seeded(`${name}/jitter`, inputs.data.length, jitter);
        const batch = makeTensor(
          inputs.dims,
          inputs.data.map((value, index) => value + noise[index]),
        );
        const reference = new Float64Model(bytes);
        const { checks, logitDifferences } = await checkGradientFloat64(
          oracle,
          (sample) => reference.logits(sample, oracle.sampleDims),
          batch,
          labels,
          targets,
          ALL_LOSSES,
          step,
        );
        // The float64 reference is the same model: ORT's float32 logits agree to rounding.
        expect(Math.max(...logitDifferences)).toBeLessThan(1e-4);
        const summary: string[] = [];
        for (const [loss, check] of checks) {
          expect(Math.max(...check.relativeErrors), `${loss} gradient`).toBeLessThan(1e-3);
          expect(Math.max(...check.lossErrors), `${loss} loss`).toBeLessThan(1e-5);
          expect(Math.min(...check.gradientNorms)).toBeGreaterThan(0);
          summary.push(`${loss} ${Math.max(...check.relativeErrors).toExponential(2)}`);
        }
        console.log(`${name}: max relative gradient error per loss: ${summary.join(', ')}`);
      } finally {
        await oracle.release();
      }
    });
  }

  it('times one gradient batch of 100 digits per model (printed, not asserted)', async () => {
    const hundred = loadMnist('test', 100);
    for (const name of ['mnist-mlp', 'mnist-cnn']) {
      const oracle = await oracleFor(modelBytes(name));
      try {
        await oracle.lossAndGradient!(hundred.inputs, hundred.labels, 'ce');
        const rounds = 5;
        const start = process.hrtime.bigint();
        for (let round = 0; round < rounds; round++) {
          await oracle.lossAndGradient!(hundred.inputs, hundred.labels, 'ce');
        }
        const gradientMs = Number(process.hrtime.bigint() - start) / 1e6 / rounds;
        const forwardStart = process.hrtime.bigint();
        for (let round = 0; round < rounds; round++) await oracle.logits(hundred.inputs);
        const forwardMs = Number(process.hrtime.bigint() - forwardStart) / 1e6 / rounds;
        console.log(
          `${name}: 100 digits, 1 thread: loss+gradient ${gradientMs.toFixed(1)} ms, logits only ${forwardMs.toFixed(1)} ms`,
        );
        expect(gradientMs).toBeGreaterThan(0);
      } finally {
        await oracle.release();
      }
    }
  });
});
