import { afterAll, describe, expect, it } from 'vitest';
import { makeTensor } from '../core/tensor/tensor';
import {
  ALL_LOSSES,
  checkGradient,
  distinctValues,
  labelsAndTargets,
  onGrid,
  oracleFor,
  seeded,
  wellSeparatedSamples,
} from './helpers/gradient-check';
import { CLASSES, OP_CASES } from './helpers/gradient-models';

const SAMPLES = 3;
/** Seeded inputs the samples are chosen from (those with the logits furthest from ties). */
const CANDIDATES = 16;
const worst: Record<string, { gradient: number; loss: number }> = {};

describe('gradient graph, op by op, against finite differences of the reference losses (real ORT)', () => {
  for (const opCase of OP_CASES) {
    it(`${opCase.name}: all four losses`, async () => {
      const dims = opCase.concreteDims ?? (opCase.sampleDims as number[]);
      const oracle = await oracleFor(opCase.bytes, opCase.concreteDims);
      try {
        expect('lossAndGradient' in oracle).toBe(true);
        const size = dims.reduce((a, b) => a * b, 1);
        const values = opCase.distinctInputs
          ? distinctValues(`${opCase.name}/inputs`, CANDIDATES, size)
          : onGrid(seeded(`${opCase.name}/inputs`, CANDIDATES * size));
        const candidates = makeTensor([CANDIDATES, ...dims], values);
        const { batch, logits } = await wellSeparatedSamples(oracle, candidates, SAMPLES);
        const { labels, targets } = labelsAndTargets(logits, CLASSES);
        let gradientError = 0;
        let lossError = 0;
        for (const loss of ALL_LOSSES) {
          const check = await checkGradient(oracle, batch, labels, loss, targets, opCase.step);
          expect(
            check.gradientNorms.every((norm) => norm > 1e-6),
            `${loss}: non-trivial gradient`,
          ).toBe(true);
          expect(Math.max(...check.relativeErrors), `${loss}: gradient vs finite differences`).toBeLessThan(
            1e-3,
          );
          expect(Math.max(...check.lossErrors), `${loss}: loss vs lossFromLogits`).toBeLessThan(1e-5);
          gradientError = Math.max(gradientError, ...check.relativeErrors);
          lossError = Math.max(lossError, ...check.lossErrors);
        }
        worst[opCase.name] = { gradient: gradientError, loss: lossError };
      } finally {
        await oracle.release();
      }
    });
  }

  afterAll(() => {
    const rows = Object.entries(worst).map(
      ([name, error]) =>
        `${name.padEnd(40)} ${error.gradient.toExponential(2)}  ${error.loss.toExponential(2)}`,
    );
    console.log(`max relative error per op case (gradient, loss):\n${rows.join('\n')}`);
  });
});
