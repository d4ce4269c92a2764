/**
 * Model runner throughput versus a raw onnxruntime-node loop over the same batches with the same
 * session options, both collecting the [N, C] scores of the whole test split. Target:
 * runner/raw >= 0.95. Rounds alternate which goes first to spread machine noise evenly.
 *
 *   npm run build && node dist/bench/runner-throughput.js
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadMnist } from '../core/data/mnist';
import { sha256Hex } from '../core/hash';
import { ModelRunner } from '../core/model/runner';
import { packageRoot } from '../core/package-root';
import { sliceSamples, type Tensor } from '../core/tensor/tensor';

const BATCH = 250;
const ROUNDS = 20;

/** The baseline: what a user writes with onnxruntime-node alone to get the [N, C] scores of a dataset. */
async function rawLoop(session: ort.InferenceSession, inputs: Tensor): Promise<Float32Array> {
  let scores = new Float32Array(0);
  for (let start = 0; start < inputs.dims[0]; start += BATCH) {
    const end = Math.min(inputs.dims[0], start + BATCH);
    const batch = sliceSamples(inputs, start, end);
    const output = await session.run({
      [session.inputNames[0]]: new ort.Tensor('float32', batch.data, [end - start, ...inputs.dims.slice(1)]),
    });
    const logits = output[session.outputNames[0]];
    if (start === 0) scores = new Float32Array(inputs.dims[0] * logits.dims[1]);
    scores.set(logits.data as Float32Array, start * logits.dims[1]);
  }
  return scores;
}

async function main(): Promise<void> {
  const { inputs } = loadMnist('test');
  const runner = new ModelRunner({ intraOpThreads: 1, interOpThreads: 1 });
  console.log(
    `runner throughput: ${inputs.dims[0]} digits, batch ${BATCH}, ${ROUNDS} rounds alternating order, 1 intra-op thread`,
  );
  for (const name of ['mnist-mlp', 'mnist-cnn']) {
    const bytes = readFileSync(join(packageRoot(), 'examples', 'models', `${name}.onnx`));
    const model = await runner.load(sha256Hex(bytes), async () => bytes, name);
    const raw = await ort.InferenceSession.create(bytes, runner.sessionOptions());
    // Warm both paths before timing.
    await runner.predict(model, inputs, BATCH);
    await rawLoop(raw, inputs);
    let runnerSeconds = 0;
    let rawSeconds = 0;
    const timeRaw = async () => {
      const started = performance.now();
      await rawLoop(raw, inputs);
      rawSeconds += (performance.now() - started) / 1000;
    };
    const timeRunner = async () => {
      const started = performance.now();
      await runner.predict(model, inputs, BATCH);
      runnerSeconds += (performance.now() - started) / 1000;
    };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first so neither always runs on a warmer (or more fragmented) heap.
      if (round % 2 === 0) {
        await timeRaw();
        await timeRunner();
      } else {
        await timeRunner();
        await timeRaw();
      }
    }
    const samples = inputs.dims[0] * ROUNDS;
    const runnerRate = samples / runnerSeconds;
    const rawRate = samples / rawSeconds;
    console.log(
      `${name}: runner ${runnerRate.toFixed(0)} samples/s, raw ORT ${rawRate.toFixed(0)} samples/s, ratio ${(runnerRate / rawRate).toFixed(3)} (target >= 0.95)`,
    );
    await raw.release();
  }
  await runner.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
