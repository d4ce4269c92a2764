/**
 * Clean-evaluation throughput on an ImageNet-size model: resnet18 on 3x224x224 images, batch 32.
 * Tempest's path is ModelRunner.predict exactly as a clean cell calls it (core/cell.ts computeCell:
 * no transform, a progress callback); the baseline is a plain onnxruntime-node loop, session.run
 * over the same batches, copying each batch's logits into one [N, 1000] array, on a session
 * created with the runner's own session options (same intra/inter-op threads, execution mode,
 * optimisation level). The two alternate ABAB / BABA after a warm-up of both, and the ratio
 * Tempest / raw is taken per pair, on wall-clock time and on process CPU time (steadier when
 * other work shares the cores); printed: images/s of each and the ratios, median and spread over
 * the repeats. Target: ratio >= 0.95.
 *
 *   npm run build && node dist/bench/resnet-throughput.js [--model path.onnx] [--batch 32]
 *     [--batches 2] [--repeats 5] [--intra 1] [--inter 1]
 *
 * Without --model the graph is bench/resnet18-model.ts (torchvision's architecture, seeded random
 * weights); --model takes any classifier with input [N, 3, 224, 224], e.g. a torch.onnx export of
 * torchvision.models.resnet18().
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { sha256Hex } from '../core/hash';
import { ModelRunner } from '../core/model/runner';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { makeTensor, sliceSamples, type Tensor } from '../core/tensor/tensor';
import { buildResnet18 } from './resnet18-model';

function numericArg(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function stringArg(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** Pixel-space [0, 1] images, seeded. */
function randomImages(count: number): Tensor {
  const tensor = makeTensor([count, 3, 224, 224]);
  const stream = sampleStream(deriveKey({ bench: 'resnet-throughput-images' }), 0);
  for (let i = 0; i < tensor.data.length; i++) tensor.data[i] = stream.uniform();
  return tensor;
}

/** The baseline: what a user writes with onnxruntime-node alone to get the [N, C] scores of a dataset. */
async function rawLoop(
  session: ort.InferenceSession,
  inputs: Tensor,
  batchSize: number,
): Promise<Float32Array> {
  let scores = new Float32Array(0);
  for (let start = 0; start < inputs.dims[0]; start += batchSize) {
    const end = Math.min(inputs.dims[0], start + batchSize);
    const batch = sliceSamples(inputs, start, end);
    const output = await session.run({
      [session.inputNames[0]]: new ort.Tensor('float32', batch.data, batch.dims),
    });
    const logits = output[session.outputNames[0]];
    if (start === 0) scores = new Float32Array(inputs.dims[0] * logits.dims[1]);
    scores.set(logits.data as Float32Array, start * logits.dims[1]);
  }
  return scores;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function main(): Promise<void> {
  const batchSize = numericArg('--batch', 32);
  const batches = numericArg('--batches', 2);
  const repeats = numericArg('--repeats', 5);
  const settings = { intraOpThreads: numericArg('--intra', 1), interOpThreads: numericArg('--inter', 1) };
  const modelPath = stringArg('--model');
  const bytes = modelPath ? new Uint8Array(readFileSync(modelPath)) : buildResnet18();
  const inputs = randomImages(batchSize * batches);
  const runner = new ModelRunner(settings);
  const model = await runner.load(sha256Hex(bytes), async () => bytes, 'resnet18');
  const raw = await ort.InferenceSession.create(bytes, runner.sessionOptions());
  console.log(
    `resnet18 clean-eval throughput: ${modelPath ?? 'built-in resnet18 (seeded random weights)'}, ` +
      `${inputs.dims[0]} images 3x224x224 per measurement, batch ${batchSize}, ` +
      `${settings.intraOpThreads} intra-op / ${settings.interOpThreads} inter-op threads, ` +
      `${repeats} ABAB repeats after a warm-up`,
  );

  let batchesSeen = 0;
  // What a clean cell runs: predict without a transform, with the activity's progress callback.
  const tempest = async () =>
    (await runner.predict(model, inputs, batchSize, { onBatch: () => batchesSeen++ })).values;
  const baseline = () => rawLoop(raw, inputs, batchSize);
  const timed = async (run: () => Promise<Float32Array>) => {
    const started = performance.now();
    const startedCpu = process.cpuUsage();
    await run();
    const cpu = process.cpuUsage(startedCpu);
    return { seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  };

  const warmTempest = await tempest();
  const warmRaw = await baseline();
  if (!warmTempest.every((value, index) => value === warmRaw[index])) {
    throw new Error('Tempest and the raw loop disagree on the logits: the comparison would be meaningless');
  }
  const rows: { tempest: number; raw: number; ratio: number; cpuRatio: number }[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    // Alternate which goes first, so neither always runs on a warmer cache or a quieter machine.
    const first = await timed(repeat % 2 === 0 ? tempest : baseline);
    const second = await timed(repeat % 2 === 0 ? baseline : tempest);
    const [ours, theirs] = repeat % 2 === 0 ? [first, second] : [second, first];
    const row = {
      tempest: inputs.dims[0] / ours.seconds,
      raw: inputs.dims[0] / theirs.seconds,
      ratio: theirs.seconds / ours.seconds,
      cpuRatio: theirs.cpuSeconds / ours.cpuSeconds,
    };
    rows.push(row);
    console.log(
      `  repeat ${repeat + 1} (${repeat % 2 === 0 ? 'Tempest first' : 'raw first'}): Tempest ${row.tempest.toFixed(2)} images/s, ` +
        `raw ORT ${row.raw.toFixed(2)} images/s, ratio ${row.ratio.toFixed(3)} (CPU time ratio ${row.cpuRatio.toFixed(3)})`,
    );
  }
  const ratios = rows.map((row) => row.ratio);
  const cpuRatios = rows.map((row) => row.cpuRatio);
  const ratio = median(ratios);
  console.log(
    `resnet18 batch ${batchSize}: Tempest ${median(rows.map((row) => row.tempest)).toFixed(2)} images/s, ` +
      `raw ORT ${median(rows.map((row) => row.raw)).toFixed(2)} images/s (medians); ratio median ${ratio.toFixed(3)}, ` +
      `spread ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}; CPU-time ratio median ` +
      `${median(cpuRatios).toFixed(3)}, spread ${Math.min(...cpuRatios).toFixed(3)}-${Math.max(...cpuRatios).toFixed(3)} ` +
      `(target >= 0.95: ${ratio >= 0.95 ? 'met' : 'NOT MET'})`,
  );
  await raw.release();
  await runner.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
