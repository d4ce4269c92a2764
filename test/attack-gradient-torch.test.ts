import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildGradientModel, PROBABILITY_FLOOR, type ScoreKind } from '../core/attack/gradient/builder';
import { createOnnxModelOracle, type OnnxModelOracle } from '../core/attack/gradient/oracle';
import { makeTensor, type Tensor } from '../core/tensor/tensor';
import {
  ALL_LOSSES,
  checkGradientLosses,
  frozenKinksReference,
  labelsAndTargets,
  onGrid,
  seeded,
  wellSeparatedSamples,
} from './helpers/gradient-check';
import { CaseBuilder, unsupportedOpErrorOf } from './helpers/gradient-models';

/**
 * The gradient builder on torch.onnx exports of the torchvision architectures (small random-init
 * instances of the real classes, made by test/fixtures/torch/export_torch_fixtures.py, both
 * exporters, opsets 13-21), all four losses, against finite differences in real ORT.
 *
 * Deep ReLU / ReLU6 / HardSwish / max-pool networks have so many kinks that, at any step large
 * enough to drown float32 rounding noise, a good share of the input elements straddle one (on the
 * plain resnet50, 20% of them at h = 2^-10 and 49% at 2^-9, measured). So the finite differences are taken of the network
 * with its kinks frozen at each sample (frozenKinksReference): the same logits and, by
 * construction, the same gradient at the sample, but no kinks. What remains is the loss's own
 * kinks (DLR's sorted logits), which the sample choice keeps away, and which the kink filter of
 * checkGradientLosses drops where they still come within 2h (the filter looks at the finite
 * differences only, never at the gradient under test, and at most MAX_EXCLUDED of the elements
 * may be dropped).
 */
const FIXTURES = join(__dirname, 'fixtures', 'torch');

interface Fixture {
  readonly file: string;
  readonly architecture: string;
  readonly exporter: 'torchscript' | 'dynamo';
  readonly opset: number;
  readonly scores: ScoreKind;
  readonly sampleDims: number[];
  readonly classes: number;
}

const fixtures = JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8')) as Fixture[];
const bytesOf = (file: string) => new Uint8Array(readFileSync(join(FIXTURES, file)));

const SAMPLES = 3;
/** Seeded images the samples are chosen from (those with the logits furthest from ties). */
const CANDIDATES = 12;
/**
 * Finite-difference steps. Rounding noise in ORT's float32 logits contributes about
 * 1e-7 |L| / h per element, so the largest step that stays clear of the loss's kinks is best:
 * 2^-7 in general; 2^-5 for the ViT (smooth, and its input gradient is ten times smaller than the
 * CNNs', so noise dominates: measured errors halve with each doubling of h up to 2^-5); 2^-10 for
 * resnet50, whose logits move fastest (input-gradient norms ~30): at 2^-7 one sample's DLR
 * ranking changes within 2h for ~45% of its elements.
 */
const STEPS: Readonly<Record<string, number>> = { vit_b_16: 2 ** -5, resnet50: 2 ** -10 };
const DEFAULT_STEP = 2 ** -7;
/** An element is dropped where its two central differences differ by 5% of the rms difference. */
const KINK_TOLERANCE = 0.05;
/** Measured at most 1.0% (mobilenet_v3_large, DLR); more would mean the comparison says too little. */
const MAX_EXCLUDED = 0.05;
/**
 * Measured worst relative error over all fixtures and losses: 7.4e-4 (float32 noise, see STEPS);
 * a wrong rule anywhere on the path (a dropped term, a wrong subgradient mask, a transposed
 * operand) gives errors of 1e-1 and more.
 */
const GRADIENT_TOLERANCE = 3e-3;
const summary: string[] = [];

function toLogProbabilities(values: Float32Array): Float32Array {
  return values.map((p) => Math.log(Math.max(p, PROBABILITY_FLOOR)));
}

function oracleOf(fixture: Fixture): Promise<OnnxModelOracle> {
  return createOnnxModelOracle(bytesOf(fixture.file), {
    intraOpThreads: 1,
    interOpThreads: 1,
    sampleDims: fixture.sampleDims,
    scores: fixture.scores,
  });
}

function candidateImages(fixture: Fixture): Tensor {
  const size = fixture.sampleDims.reduce((a, b) => a * b, 1);
  // Pixels in [0, 1] on the 2^-12 grid (so every moved input is exact in float32).
  const pixels = seeded(`${fixture.architecture}/pixels`, CANDIDATES * size).map((v) => (v + 1) / 2);
  return makeTensor([CANDIDATES, ...fixture.sampleDims], onGrid(pixels));
}

describe('gradient graph of torch.onnx exports of torchvision architectures (real ORT)', () => {
  it('the fixtures are the committed bytes (SHA256SUMS, written by export_torch_fixtures.py)', () => {
    const sums = readFileSync(join(FIXTURES, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums.length).toBe(fixtures.length + 1);
    for (const line of sums) {
      const [digest, file] = line.split(/\s+/);
      expect(
        createHash('sha256')
          .update(readFileSync(join(FIXTURES, file)))
          .digest('hex'),
        file,
      ).toBe(digest);
    }
  });

  for (const fixture of fixtures) {
    it(`${fixture.file}: gradient of all four losses against finite differences`, async () => {
      const oracle = await oracleOf(fixture);
      try {
        expect(oracle.gradientUnavailable?.message).toBeUndefined();
        const { batch, logits } = await wellSeparatedSamples(oracle, candidateImages(fixture), SAMPLES);
        const { labels, targets } = labelsAndTargets(logits, fixture.classes);
        const step = STEPS[fixture.architecture] ?? DEFAULT_STEP;
        const referenceAt = await frozenKinksReference(
          bytesOf(fixture.file),
          fixture.sampleDims,
          fixture.scores === 'probabilities' ? toLogProbabilities : undefined,
        );
        const checks = await checkGradientLosses(oracle, batch, labels, ALL_LOSSES, targets, step, {
          kinkTolerance: KINK_TOLERANCE,
          referenceAt,
        });
        const row: string[] = [];
        for (const [loss, check] of checks) {
          expect(Math.min(...check.gradientNorms), `${loss}: non-trivial gradient`).toBeGreaterThan(1e-3);
          expect(Math.max(...check.excludedFractions), `${loss}: elements left out`).toBeLessThanOrEqual(
            MAX_EXCLUDED,
          );
          expect(Math.max(...check.relativeErrors), `${loss}: gradient vs finite differences`).toBeLessThan(
            GRADIENT_TOLERANCE,
          );
          expect(Math.max(...check.lossErrors), `${loss}: loss vs lossFromLogits`).toBeLessThan(1e-5);
          row.push(
            `${loss} ${Math.max(...check.relativeErrors).toExponential(2)} (${(100 * Math.max(...check.excludedFractions)).toFixed(1)}%)`,
          );
        }
        summary.push(`${fixture.file.padEnd(52)} h=2^${Math.log2(step)}  ${row.join('  ')}`);
      } finally {
        await oracle.release();
      }
    });
  }

  it('probabilities: the losses act on their log, so CE and DLR equal those of the same logits model', async () => {
    // Same weights (same seed); log softmax(z) = z - logsumexp(z) shifts each row, and CE and DLR
    // do not change under a per-sample shift of the logits.
    const [probabilities, logits] = [
      'mobilenet_v2-torchscript-opset17-probabilities.onnx',
      'mobilenet_v2-torchscript-opset17.onnx',
    ].map((file) => fixtures.find((fixture) => fixture.file === file)!);
    const oracles = await Promise.all([oracleOf(probabilities), oracleOf(logits)]);
    try {
      const batch = makeTensor([4, ...logits.sampleDims], candidateImages(logits).data.slice(0, 4 * 768));
      const labels = Int32Array.of(0, 3, 5, 9);
      const targets = Int32Array.of(1, 2, 3, 4);
      for (const loss of ALL_LOSSES) {
        const [fromProbabilities, fromLogits] = await Promise.all(
          oracles.map((oracle) => oracle.lossAndGradient!(batch, labels, loss, targets)),
        );
        fromLogits.loss.forEach((value, i) =>
          expect(Math.abs(fromProbabilities.loss[i] - value), `${loss} loss ${i}`).toBeLessThan(
            1e-5 * Math.max(1, Math.abs(value)),
          ),
        );
        let difference = 0;
        let norm = 0;
        fromLogits.gradient.forEach((value, i) => {
          difference += (fromProbabilities.gradient[i] - value) ** 2;
          norm += value ** 2;
        });
        expect(Math.sqrt(difference / norm), `${loss} gradient`).toBeLessThan(1e-4);
      }
    } finally {
      await Promise.all(oracles.map((oracle) => oracle.release()));
    }
  });

  it('scores: logits and log-probabilities build the same bytes as before; probabilities add the log', () => {
    const bytes = bytesOf('resnet18-dynamo-opset18-log-probabilities.onnx');
    for (const loss of ALL_LOSSES) {
      const plain = buildGradientModel(bytes, loss);
      expect(buildGradientModel(bytes, loss, { scores: 'logits' })).toEqual(plain);
      expect(buildGradientModel(bytes, loss, { scores: 'log-probabilities' })).toEqual(plain);
      expect(buildGradientModel(bytes, loss, { scores: 'probabilities' })).not.toEqual(plain);
    }
  });

  it('an op without a gradient rule on the input path still gives UnsupportedOpError naming the op and node', () => {
    for (const [opType, attributes, reason] of [
      ['Sin', {}, /no gradient rule for this op/],
      ['Cast', { to: { int: 7 } }, /a cast to a type other than float32 on the input path/],
    ] as const) {
      const model = new CaseBuilder(`unsupported-${opType}`);
      const hidden = model.op('Gemm', ['input', model.weight([6, 6])]);
      const output = model.op(opType, [hidden], attributes);
      const bytes = model.finish(
        opType === 'Cast' ? model.op('Cast', [output], { to: { int: 1 } }) : output,
        6,
        [6],
      );
      expect(unsupportedOpErrorOf(bytes, opType).message).toMatch(reason);
    }
  });

  afterAll(() =>
    console.log(`max relative gradient error per loss (elements left out):\n${summary.join('\n')}`),
  );
});
