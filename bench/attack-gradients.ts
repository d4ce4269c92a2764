/**
 * White-box gradients for attacks: PGD time per sample with the gradient model built from the ONNX
 * graph (createOnnxModelOracle) against central finite differences over onnxruntime-node logits
 * (createFiniteDifferenceOracle over createOrtLogitsOracle), for both example models on real MNIST
 * test digits, with the robust accuracy each reaches (they should agree) and the largest gradient
 * difference between the two oracles on a few digits. When adversarial-robustness-toolbox is
 * installed (bench/setup-art.sh), ART's PGD on the same model and digits in the same run: its
 * black-box route (onnxruntime scores, ART's estimated gradients) and, when torch is installed
 * too, its white-box route (onnx2torch + PyTorchClassifier).
 *
 * PGD: Linf eps 0.1, 10 steps of 0.025, no random start, cross-entropy, untargeted. Tempest's PGD
 * stops a sample at its first adversarial iterate, ART's runs every step: hence also ms per
 * gradient (one loss+gradient of one sample). One intra-op thread everywhere; each oracle is
 * warmed up once before timing.
 *
 *   npm run build && node dist/bench/attack-gradients.js [--mlp N] [--cnn N] [--art-mlp K] [--art-cnn K]
 * Defaults: 100 MLP and 50 CNN digits; ART's estimated-gradient route on the first K digits only
 * (5 and 3: it costs about half a second per gradient), its torch route on all of them.
 * ART: bench/setup-art.sh [--torch] (or TEMPEST_ART_PYTHON=/path/to/python).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createOnnxModelOracle } from '../core/attack/gradient/oracle';
import { createFiniteDifferenceOracle, createOrtLogitsOracle } from '../core/attack/oracle';
import { pgd } from '../core/attack/pgd';
import { summarizeWithModel, type AttackSummary } from '../core/attack/summary';
import type { AttackBatchResult, AttackContext, ModelOracle } from '../core/attack/types';
import { loadMnist } from '../core/data/mnist';
import { decodeNpy, encodeNpy } from '../core/data/npy';
import { packageRoot } from '../core/package-root';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { makeTensor, sliceSamples, type Tensor } from '../core/tensor/tensor';

const EPSILON = 0.1;
const STEPS = 10;
const STEP_SIZE = 0.025;
const CHECK_DIGITS = 5;
const ORACLE_ROUNDS = 10;
const settings = { intraOpThreads: 1, interOpThreads: 1 };
const bounds = { min: 0, max: 1 };
const threat = { norm: 'linf' as const, epsilon: EPSILON, bounds };
const params = pgd.params.parse({
  epsilon: EPSILON,
  steps: STEPS,
  randomStart: false,
  relativeStepSize: STEP_SIZE / EPSILON,
});

function numericArg(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function context(): AttackContext {
  const key = deriveKey({ bench: 'attack-gradients' });
  return { streamFor: (index) => sampleStream(key, index), firstSampleIndex: 0, bounds };
}

function gradientOf(oracle: ModelOracle, inputs: Tensor, labels: Int32Array) {
  if (!oracle.lossAndGradient) throw new Error('the oracle has no gradients');
  return oracle.lossAndGradient(inputs, labels, 'ce');
}

/** Largest |graph - FD| gradient entry, the largest |graph| entry for scale, and ||graph - FD|| / ||graph||. */
async function gradientDifference(
  graph: ModelOracle,
  finite: ModelOracle,
  inputs: Tensor,
  labels: Int32Array,
) {
  const exact = await gradientOf(graph, inputs, labels);
  const estimated = await gradientOf(finite, inputs, labels);
  let difference = 0;
  let largest = 0;
  let squaredError = 0;
  let squaredNorm = 0;
  exact.gradient.forEach((value, index) => {
    const error = value - estimated.gradient[index];
    difference = Math.max(difference, Math.abs(error));
    largest = Math.max(largest, Math.abs(value));
    squaredError += error * error;
    squaredNorm += value * value;
  });
  return { difference, largest, relative: Math.sqrt(squaredError / squaredNorm) };
}

/**
 * Digits plus seeded uniform noise in [-0.05, 0.05], not clipped: on a raw digit's constant
 * background max pooling sits on exact ties, where central differences straddle a kink. Off the
 * ties the CNN's figure is still bounded by float32 forward passes (differences of losses over
 * 2h = 2e-3) and by ReLU kinks within h of a probe.
 */
function jitter(inputs: Tensor): Tensor {
  const stream = sampleStream(deriveKey({ bench: 'attack-gradients', jitter: 1 }), 0);
  return makeTensor(
    inputs.dims,
    inputs.data.map((value) => value + 0.1 * (stream.uniform() - 0.5)),
  );
}

interface Timed {
  readonly milliseconds: number;
  readonly summary: AttackSummary;
  /** Loss+gradient evaluations of single samples (the budgeted oracle's query count). */
  readonly gradients: number;
  readonly result: AttackBatchResult;
}

async function timePgd(oracle: ModelOracle, judge: ModelOracle, inputs: Tensor, labels: Int32Array) {
  const started = performance.now();
  const result = await pgd.run(inputs, labels, params, oracle, context());
  const milliseconds = performance.now() - started;
  const summary = await summarizeWithModel(judge, inputs, labels, result, threat);
  const gradients = result.queries.reduce((sum, count) => sum + count, 0);
  return { milliseconds, summary, gradients, result } satisfies Timed;
}

type ArtRouteName = 'estimated' | 'torch';
interface ArtRoute {
  readonly samples?: number;
  readonly seconds?: number;
  readonly gradientRows?: number;
  readonly adversarial?: string;
  readonly error?: string;
}
type ArtResults = { readonly art: string } & Partial<Record<ArtRouteName, ArtRoute>>;

function artPython(): string | undefined {
  const python =
    process.env.TEMPEST_ART_PYTHON ?? join(packageRoot(), '.tempest', 'bench-venv-art', 'bin', 'python');
  return existsSync(python) ? python : undefined;
}

/**
 * ART's PGD through bench/art_reference.py, each route on the first `counts[route]` digits of
 * `inputs`; adversarials read back as tensors.
 */
async function runArt(
  python: string,
  modelPath: string,
  inputs: Tensor,
  labels: Int32Array,
  counts: Record<ArtRouteName, number>,
) {
  const dir = await mkdtemp(join(tmpdir(), 'tempest-art-bench-'));
  try {
    await writeFile(join(dir, 'x.npy'), encodeNpy('<f4', inputs.dims, inputs.data));
    await writeFile(join(dir, 'y.npy'), encodeNpy('<i4', [labels.length], labels));
    const { stdout } = await promisify(execFile)(
      python,
      [
        join(packageRoot(), 'bench', 'art_reference.py'),
        modelPath,
        join(dir, 'x.npy'),
        join(dir, 'y.npy'),
        dir,
        String(EPSILON),
        String(STEPS),
        String(STEP_SIZE),
        Object.entries(counts)
          .map(([route, count]) => `${route}:${count}`)
          .join(','),
      ],
      { maxBuffer: 16 * 1024 * 1024, timeout: 30 * 60_000, env: { ...process.env, OMP_NUM_THREADS: '1' } },
    );
    const results = JSON.parse(stdout) as ArtResults;
    const adversarials = new Map<ArtRouteName, Tensor>();
    for (const route of ['estimated', 'torch'] as const) {
      const path = results[route]?.adversarial;
      if (!path) continue;
      const array = decodeNpy(await readFile(path), path);
      adversarials.set(route, makeTensor(array.shape, Float32Array.from(array.values)));
    }
    return { results, adversarials };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function checkFigures(label: string, check: { difference: number; largest: number; relative: number }) {
  return (
    `${label} max |diff| ${check.difference.toExponential(1)} (max |grad| ${check.largest.toExponential(1)}), ` +
    `||diff||/||grad|| ${check.relative.toExponential(1)}`
  );
}

function disagreements(first: AttackSummary, second: AttackSummary): number {
  return first.success.reduce((sum, flag, i) => sum + (flag === second.success[i] ? 0 : 1), 0);
}

const fixed = (value: number, digits: number, width: number) => value.toFixed(digits).padStart(width);
const percent = (value: number) => `${(100 * value).toFixed(1)}%`;

function row(label: string, samples: number, milliseconds: number, gradients: number, robust: number) {
  return (
    `  ${label.padEnd(34)} ${String(samples).padStart(4)} ${fixed(milliseconds / samples, 2, 11)} ` +
    `${fixed(gradients / samples, 1, 10)} ${fixed(milliseconds / gradients, 3, 10)} ${percent(robust).padStart(8)}`
  );
}

async function benchModel(name: string, samples: number, artSamples: number): Promise<void> {
  const modelPath = join(packageRoot(), 'examples', 'models', `${name}.onnx`);
  const bytes = await readFile(modelPath);
  const { inputs, labels } = loadMnist('test', Math.max(samples, CHECK_DIGITS));
  const batch = sliceSamples(inputs, 0, samples);
  const batchLabels = labels.slice(0, samples);
  const graph = await createOnnxModelOracle(bytes, settings);
  const logits = await createOrtLogitsOracle(bytes, settings);
  const finite = createFiniteDifferenceOracle(logits);
  try {
    // Warm-up (sessions, gradient model built), then the sanity figures on the first digits.
    await gradientOf(graph, sliceSamples(inputs, 0, 1), labels.slice(0, 1));
    await gradientOf(finite, sliceSamples(inputs, 0, 1), labels.slice(0, 1));
    const check = sliceSamples(inputs, 0, CHECK_DIGITS);
    const checkLabels = labels.slice(0, CHECK_DIGITS);
    const raw = await gradientDifference(graph, finite, check, checkLabels);
    const jittered = await gradientDifference(graph, finite, jitter(check), checkLabels);

    // The gradient model alone on full batches: what PGD's time with the graph oracle would be
    // without the attack loop (per-sample steps, projections, bookkeeping) and shrinking batches.
    const alone = performance.now();
    for (let round = 0; round < ORACLE_ROUNDS; round++) await gradientOf(graph, batch, batchLabels);
    const aloneMilliseconds = (performance.now() - alone) / (ORACLE_ROUNDS * samples);

    const onGraph = await timePgd(graph, logits, batch, batchLabels);
    const onFinite = await timePgd(finite, logits, batch, batchLabels);
    const disagree = disagreements(onGraph.summary, onFinite.summary);

    console.log(
      `${name}: ${samples} digits, clean accuracy ${percent(onGraph.summary.cleanAccuracy)}; CE input gradient, ` +
        `graph vs FD on ${CHECK_DIGITS} digits: ${checkFigures('raw', raw)}; ${checkFigures('jittered +-0.05', jittered)}`,
    );
    console.log(
      `  ${'oracle'.padEnd(34)} ${'n'.padStart(4)} ${'ms/sample'.padStart(11)} ${'grads/smp'.padStart(10)} ${'ms/grad'.padStart(10)} ${'robust'.padStart(8)}`,
    );
    console.log(
      row('tempest graph', samples, onGraph.milliseconds, onGraph.gradients, onGraph.summary.robustAccuracy),
    );
    console.log(
      row(
        'tempest finite differences',
        samples,
        onFinite.milliseconds,
        onFinite.gradients,
        onFinite.summary.robustAccuracy,
      ),
    );
    console.log(
      `  ${'(graph oracle alone, full batches)'.padEnd(34)} ${String(samples).padStart(4)} ${''.padStart(11)} ` +
        `${''.padStart(10)} ${fixed(aloneMilliseconds, 3, 10)}`,
    );
    console.log(
      `  FD / graph: ${(onFinite.milliseconds / onGraph.milliseconds).toFixed(0)}x per sample, ` +
        `${(onFinite.milliseconds / onFinite.gradients / (onGraph.milliseconds / onGraph.gradients)).toFixed(0)}x per gradient; ` +
        `robust accuracy ${percent(onGraph.summary.robustAccuracy)} vs ${percent(onFinite.summary.robustAccuracy)}, ` +
        `${disagree} digit(s) broken by one oracle only`,
    );

    const python = artPython();
    if (!python) {
      console.log('  ART: not installed (bench/setup-art.sh), skipped');
      return;
    }
    const art = await runArt(python, modelPath, batch, batchLabels, {
      estimated: Math.min(artSamples, samples),
      torch: samples,
    });
    for (const route of ['estimated', 'torch'] as const) {
      const outcome = art.results[route];
      const label = `ART ${art.results.art} ${route === 'estimated' ? 'estimated gradients' : 'torch autograd'}`;
      const adversarial = art.adversarials.get(route);
      if (!outcome || outcome.seconds === undefined || !adversarial) {
        const missing = outcome?.error?.startsWith('ModuleNotFoundError');
        const setup = `bench/setup-art.sh${route === 'torch' ? ' --torch' : ''}`;
        console.log(
          `  ${label}: ${missing ? `not installed (${setup})` : `failed: ${outcome?.error ?? 'no result'}`}`,
        );
        continue;
      }
      const count = adversarial.dims[0];
      const clean = sliceSamples(batch, 0, count);
      const cleanLabels = batchLabels.slice(0, count);
      const summary = await summarizeWithModel(
        logits,
        clean,
        cleanLabels,
        { adversarial, queries: new Uint32Array(count) },
        threat,
      );
      const milliseconds = outcome.seconds * 1000;
      const gradients = outcome.gradientRows ?? count * STEPS;
      // The Tempest run ART is set against, on the same digits when ART ran them all.
      const ours = route === 'estimated' ? onFinite : onGraph;
      console.log(row(label, count, milliseconds, gradients, summary.robustAccuracy));
      let comparison = `${disagreements(summary, ours.summary)} digit(s) broken by one of the two only`;
      if (count < samples) {
        const prefix = await summarizeWithModel(
          logits,
          clean,
          cleanLabels,
          {
            adversarial: sliceSamples(ours.result.adversarial, 0, count),
            queries: ours.result.queries.slice(0, count),
          },
          threat,
        );
        comparison =
          `tempest ms/sample over its ${samples} digits; on these ${count}: tempest robust ` +
          `${percent(prefix.robustAccuracy)}, ${disagreements(summary, prefix)} digit(s) broken by one of the two only`;
      }
      console.log(
        `  ART / tempest ${route === 'estimated' ? 'FD' : 'graph'}: ` +
          `${(milliseconds / count / (ours.milliseconds / samples)).toFixed(1)}x per sample, ` +
          `${(milliseconds / gradients / (ours.milliseconds / ours.gradients)).toFixed(1)}x per gradient; ${comparison}`,
      );
    }
  } finally {
    await graph.release();
    await logits.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `PGD Linf eps ${EPSILON}, ${STEPS} steps of ${STEP_SIZE}, no random start, CE, untargeted; ` +
      `real MNIST test digits; 1 intra-op thread; times vary with the load of the machine`,
  );
  await benchModel('mnist-mlp', numericArg('--mlp', 100), numericArg('--art-mlp', 5));
  await benchModel('mnist-cnn', numericArg('--cnn', 50), numericArg('--art-cnn', 3));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
