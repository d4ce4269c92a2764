import * as ort from 'onnxruntime-node';
import { TempestInputError } from '../errors';
import { elementCount, makeTensor, sampleSize, sliceSamples, type Tensor } from '../tensor/tensor';

/** Turns a batch whose first sample is dataset sample `firstSampleIndex` into the batch the model sees. */
export type BatchTransform = (batch: Tensor, firstSampleIndex: number) => Tensor;

export interface RunnerSettings {
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
}

/**
 * Samples transformed between two yields to the event loop. Perturbations are synchronous CPU
 * work; in slices this small a worker's event loop stays free to answer Temporal (task polls,
 * completions, heartbeats) within milliseconds instead of stalling other cells' hand-offs.
 * Transforms work per sample, so chunking never changes the output bytes.
 */
const TRANSFORM_CHUNK_SAMPLES = 16;

async function transformInChunks(
  batch: Tensor,
  firstSampleIndex: number,
  transform: BatchTransform,
): Promise<Tensor> {
  const count = batch.dims[0];
  if (count <= TRANSFORM_CHUNK_SAMPLES) return transform(batch, firstSampleIndex);
  const output = makeTensor(batch.dims);
  const per = sampleSize(batch);
  for (let start = 0; start < count; start += TRANSFORM_CHUNK_SAMPLES) {
    const end = Math.min(count, start + TRANSFORM_CHUNK_SAMPLES);
    output.data.set(transform(sliceSamples(batch, start, end), firstSampleIndex + start).data, start * per);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return output;
}

/** What a loaded model expects and gives, read from the ONNX graph. */
export interface ModelSignature {
  readonly inputName: string;
  readonly outputName: string;
  /** Input dims with the batch dim as -1 (symbolic or unknown dims also -1). */
  readonly inputDims: readonly number[];
  /** Set when the model was exported with a fixed batch size: batches are run in chunks of it. */
  readonly fixedBatch?: number;
}

export interface LoadedModel {
  readonly sha256: string;
  /** How messages name the model (its file). */
  readonly label: string;
  readonly session: ort.InferenceSession;
  readonly signature: ModelSignature;
}

/** The runtime identity recorded in cell keys and provenance: a change here can change output bytes. */
export const RUNTIME_ID = `onnxruntime-node@${ort.env.versions.node ?? 'unknown'}/cpu`;

function signatureOf(session: ort.InferenceSession, sha256: string): ModelSignature {
  const input = session.inputMetadata[0];
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (!input || !inputName || !outputName) {
    throw new TempestInputError(`model ${sha256.slice(0, 12)} has no inputs or no outputs`, 'InvalidModel');
  }
  if (session.inputNames.length !== 1) {
    throw new TempestInputError(
      `model ${sha256.slice(0, 12)} has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); Tempest evaluates single-input classifiers`,
      'InvalidModel',
    );
  }
  if (!input.isTensor || input.type !== 'float32') {
    throw new TempestInputError(
      `model ${sha256.slice(0, 12)} input "${inputName}" must be a float32 tensor, it is ${input.isTensor ? input.type : 'not a tensor'}`,
      'InvalidModel',
    );
  }
  const inputDims = input.shape.map((dim) => (typeof dim === 'number' && dim > 0 ? dim : -1));
  return { inputName, outputName, inputDims, fixedBatch: inputDims[0] > 0 ? inputDims[0] : undefined };
}

/** A message for an onnxruntime failure: what failed, on which model, and what to check. */
function ortFailure(label: string, stage: 'load' | 'run', error: unknown): TempestInputError {
  const detail = (error as Error).message.split('\n')[0];
  const advice =
    stage === 'load'
      ? 'check that the file is a complete ONNX model and that its opsets are ones onnxruntime-node ' +
        `${ort.env.versions.node ?? ''} supports (ai.onnx 7-21, ai.onnx.ml 1-3); \`tempest inspect MODEL\` lists its inputs, outputs and ops`
      : 'check the input shape the model expects against the dataset (and preprocessing), and models[i].input / .output';
  return new TempestInputError(
    `model ${label} ${stage === 'load' ? 'is not a loadable ONNX model' : 'failed in onnxruntime'}: ${detail}; ${advice}`,
    'InvalidModel',
  );
}

/**
 * Runs ONNX classifiers with onnxruntime-node's CPU provider. Sessions are cached per model hash
 * (creating one costs far more than a batch), and thread counts are fixed so that results and
 * timings do not depend on how busy the machine happens to be.
 */
export class ModelRunner {
  private readonly sessions = new Map<string, Promise<LoadedModel>>();

  constructor(readonly settings: RunnerSettings) {}

  sessionOptions(): ort.InferenceSession.SessionOptions {
    return {
      executionProviders: ['cpu'],
      intraOpNumThreads: this.settings.intraOpThreads,
      interOpNumThreads: this.settings.interOpThreads,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
  }

  load(sha256: string, bytes: () => Promise<Uint8Array>, label = sha256.slice(0, 12)): Promise<LoadedModel> {
    let loaded = this.sessions.get(sha256);
    if (!loaded) {
      loaded = (async () => {
        let session: ort.InferenceSession;
        try {
          session = await ort.InferenceSession.create(await bytes(), this.sessionOptions());
        } catch (error) {
          throw ortFailure(label, 'load', error);
        }
        return { sha256, label, session, signature: signatureOf(session, label) };
      })();
      this.sessions.set(sha256, loaded);
      loaded.catch(() => this.sessions.delete(sha256));
    }
    return loaded;
  }

  /**
   * Run one batch and hand its scores (the first output, e.g. logits, an [N, C] matrix) to `read`
   * while ORT's buffer is alive; it is released after. Samples are reshaped to the model's input
   * dims when the element counts agree (e.g. [N,1,28,28] images into a flat [N,784] MLP input).
   */
  private async withBatchScores<T>(
    model: LoadedModel,
    batch: Tensor,
    perSampleDims: readonly number[],
    read: (scores: Float32Array, classes: number) => T,
  ): Promise<T> {
    const count = batch.dims[0];
    const fixed = model.signature.fixedBatch;
    if (fixed !== undefined && count !== fixed) {
      return read(...(await this.scoresInFixedBatches(model, batch, perSampleDims, fixed)));
    }
    let output: ort.Tensor | undefined;
    try {
      const feeds = {
        [model.signature.inputName]: new ort.Tensor('float32', batch.data, [count, ...perSampleDims]),
      };
      output = (await model.session.run(feeds, [model.signature.outputName]))[model.signature.outputName];
    } catch (error) {
      throw ortFailure(model.label, 'run', error);
    }
    if (!output || output.type !== 'float32' || output.dims.length !== 2 || output.dims[0] !== count) {
      throw new TempestInputError(
        `model ${model.label}: output "${model.signature.outputName}" must be float32 [batch, classes], got ${output?.type} [${output?.dims.join(', ')}]; ` +
          'name the score output with models[i].output',
        'InvalidModel',
      );
    }
    try {
      return read(output.data as Float32Array, output.dims[1]);
    } finally {
      output.dispose();
    }
  }

  /**
   * A model exported with a fixed batch size (batch 1 is common) runs its input in chunks of that
   * size; the last chunk is padded with zeros whose rows are dropped. Samples are independent, so
   * the scores are the ones a dynamic-batch export gives.
   */
  private async scoresInFixedBatches(
    model: LoadedModel,
    batch: Tensor,
    perSampleDims: readonly number[],
    fixed: number,
  ): Promise<[Float32Array, number]> {
    const count = batch.dims[0];
    const per = sampleSize(batch);
    const unfixed = { ...model, signature: { ...model.signature, fixedBatch: undefined } };
    let scores = new Float32Array(0);
    let classes = 0;
    for (let start = 0; start < count; start += fixed) {
      const end = Math.min(count, start + fixed);
      const chunk = makeTensor([fixed, ...batch.dims.slice(1)]);
      chunk.data.set(batch.data.subarray(start * per, end * per));
      await this.withBatchScores(unfixed, chunk, perSampleDims, (values, width) => {
        if (start === 0) {
          classes = width;
          scores = new Float32Array(count * width);
        }
        scores.set(values.subarray(0, (end - start) * width), start * width);
      });
    }
    return [scores, classes];
  }

  /** Scores of one batch, [N, C]. */
  predictBatch(model: LoadedModel, batch: Tensor): Promise<{ values: Float32Array; classes: number }> {
    return this.withBatchScores(model, batch, this.perSampleDims(model, batch), (scores, classes) => ({
      values: scores.slice(),
      classes,
    }));
  }

  /**
   * Scores for all samples in batches of `batchSize`. `transform` (e.g. a perturbation) is applied
   * to each batch just before inference, so memory stays bounded by the batch, not the dataset.
   */
  async predict(
    model: LoadedModel,
    inputs: Tensor,
    batchSize: number,
    options: { transform?: BatchTransform; onBatch?: (samplesDone: number) => void } = {},
  ): Promise<{ values: Float32Array; classes: number }> {
    const samples = inputs.dims[0];
    const perSampleDims = this.perSampleDims(model, inputs);
    let values = new Float32Array(0);
    let classes = 0;
    for (let start = 0; start < samples; start += batchSize) {
      const end = Math.min(samples, start + batchSize);
      const slice = sliceSamples(inputs, start, end);
      const input = options.transform ? await transformInChunks(slice, start, options.transform) : slice;
      await this.withBatchScores(model, input, perSampleDims, (scores, batchClasses) => {
        if (start === 0) {
          classes = batchClasses;
          values = new Float32Array(samples * classes);
        }
        values.set(scores, start * classes);
      });
      options.onBatch?.(end);
    }
    return { values, classes };
  }

  private perSampleDims(model: LoadedModel, inputs: Tensor): number[] {
    const expected = model.signature.inputDims.slice(1);
    const given = inputs.dims.slice(1);
    if (expected.every((dim) => dim > 0) && elementCount(expected) === sampleSize(inputs)) return expected;
    const compatible =
      expected.length === given.length && expected.every((dim, index) => dim === -1 || dim === given[index]);
    if (compatible) return given;
    throw new TempestInputError(
      `input shape mismatch: model ${model.sha256.slice(0, 12)} expects [N, ${expected.map((d) => (d < 0 ? '?' : d)).join(', ')}] ` +
        `but the dataset gives samples of shape [${given.join(', ')}] (${sampleSize(inputs)} values); ` +
        'check the dataset shape or the model',
      'ShapeMismatch',
    );
  }

  async close(): Promise<void> {
    const loaded = await Promise.allSettled(this.sessions.values());
    this.sessions.clear();
    for (const result of loaded) {
      if (result.status === 'fulfilled') await result.value.session.release();
    }
  }
}
