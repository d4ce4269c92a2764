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
 * On a raw digit the CNN sits on exact ties: over the constant background neighbouring conv
 * outputs are equal, and max pooling has no derivative there (plain finite differences average
 * the tied inputs' one-sided slopes, 20-40% off any single subgradient). So the CNN is checked
 * twice: on the raw digits against the network linearized at each digit (ReLU signs and max-pool
 * winners frozen, ties to the first maximum as ORT), which is exactly the subgradient the graph
 * must return; and on the digits with a seeded jitter of +-2^-4 (16 gray levels), which moves
 * them off the ties, against plain finite differences with a step far below the nearest kink.
 */
describe('gradient graph of the example MNIST models (real ORT, real digits)', () => {
  const { inputs, labels: allLabels } = loadMnist('test', DIGITS);
  const labels = allLabels.slice(0, DIGITS);
  const targets = Int32Array.from(labels, (label) => (label + 3) % 10);

  for (const [name, jitter, step, linearized] of [
    ['mnist-mlp', 0, 1e-4, false],
    ['mnist-cnn', 0, 1e-3, true],
    ['mnist-cnn', 2 ** -4, 1e-6, false],
  ] as const) {
    const how = `${jitter ? 'jittered' : 'raw'} digits, ${linearized ? 'linearized' : 'plain'} float64 reference`;
    it(`${name}, ${how}: gradient within 1e-3 of finite differences for every loss`, async () => {
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
          (base) => {
            const pattern = linearized ? reference.pattern(base, oracle.sampleDims) : undefined;
            return (sample) => reference.logits(sample, oracle.sampleDims, pattern);
          },
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
        console.log(`${name} (${how}): max relative gradient error per loss: ${summary.join(', ')}`);
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
