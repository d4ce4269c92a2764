import * as ort from 'onnxruntime-node';
import { TempestInputError } from '../../errors';
import { elementCount, sampleSize, type Tensor } from '../../tensor/tensor';
import { isTargeted } from '../losses';
import type { AttackLoss, LossAndGradient, ModelOracle } from '../types';
import { buildGradientModel, GRADIENT_MODEL_NAMES, PROBABILITY_FLOOR, type ScoreKind } from './builder';
import { GradientModelError, UnsupportedOpError } from './errors';

export interface OnnxOracleSettings {
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  /** Shape of one sample; defaults to the model's input dims (required when they are symbolic). */
  readonly sampleDims?: readonly number[];
  /**
   * What the model's output is (default logits). For probabilities both `logits()` and the
   * gradient model give log-probabilities (floored like the gradient model), what the losses act on.
   */
  readonly scores?: ScoreKind;
}

export interface OnnxModelOracle extends ModelOracle {
  /** Why the model has no lossAndGradient (an op without a gradient rule), if it has none. */
  readonly gradientUnavailable?: UnsupportedOpError | GradientModelError;
  /** The gradient model a loss runs (built on first use, then cached). */
  gradientModel(loss: AttackLoss): Uint8Array;
  release(): Promise<void>;
}

/** The fewest classes each loss is defined for (DLR sorts the logits down to pi3 / pi4). */
const MINIMUM_CLASSES: Record<AttackLoss, number> = { ce: 2, 'ce-targeted': 2, dlr: 3, 'dlr-targeted': 4 };

/**
 * A ModelOracle over ONNX model bytes run by onnxruntime-node: logits from the model itself,
 * loss and input gradient from its gradient model (one session per loss, created on first use).
 * Sessions use the CPU provider with fixed thread counts and sequential execution, like the
 * model runner, so the same batch always gives the same bytes.
 */
export async function createOnnxModelOracle(
  modelBytes: Uint8Array,
  settings: OnnxOracleSettings,
): Promise<OnnxModelOracle> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: settings.interOpThreads,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const forward = await ort.InferenceSession.create(modelBytes, options);
  const inputName = forward.inputNames[0];
  const outputName = forward.outputNames[0];
  const inputMetadata = forward.inputMetadata[0];
  const modelDims = inputMetadata?.isTensor ? inputMetadata.shape.slice(1) : [];
  const sampleDims =
    settings.sampleDims ??
    (modelDims.every((dim) => typeof dim === 'number' && dim > 0) ? (modelDims as number[]) : undefined);
  if (!sampleDims) {
    throw new TempestInputError(
      `the model's input dims [${modelDims.join(', ')}] are symbolic: give the oracle sampleDims`,
      'InvalidModel',
    );
  }
  const perSample = elementCount(sampleDims);
  const dimsOf = (batch: Tensor): number[] => {
    if (sampleSize(batch) !== perSample) {
      throw new TempestInputError(
        `input shape mismatch: the model takes samples of [${sampleDims.join(', ')}], the batch has [${batch.dims.slice(1).join(', ')}]`,
        'ShapeMismatch',
      );
    }
    return [batch.dims[0], ...sampleDims];
  };

  const runLogits = async (batch: Tensor): Promise<{ values: Float32Array; classes: number }> => {
    const result = await forward.run({ [inputName]: new ort.Tensor('float32', batch.data, dimsOf(batch)) });
    const output = result[outputName];
    try {
      return { values: (output.data as Float32Array).slice(), classes: output.dims[1] };
    } finally {
      output.dispose();
    }
  };
  const outputMetadata = forward.outputMetadata[0];
  const declaredClasses = outputMetadata?.isTensor ? outputMetadata.shape[1] : undefined;
  const classes =
    typeof declaredClasses === 'number' && declaredClasses > 0
      ? declaredClasses
      : (await runLogits({ dims: [1, ...sampleDims], data: new Float32Array(perSample) })).classes;

  const builtModels = new Map<AttackLoss, Uint8Array>();
  const gradientModel = (loss: AttackLoss): Uint8Array => {
    let bytes = builtModels.get(loss);
    if (!bytes) {
      bytes = buildGradientModel(modelBytes, loss, settings.scores ? { scores: settings.scores } : {});
      builtModels.set(loss, bytes);
    }
    return bytes;
  };
  let gradientUnavailable: UnsupportedOpError | GradientModelError | undefined;
  try {
    gradientModel('ce');
  } catch (error) {
    // Black-box attacks still query such a model; only its white-box cells are not applicable.
    if (!(error instanceof UnsupportedOpError) && !(error instanceof GradientModelError)) throw error;
    gradientUnavailable = error;
  }

  const gradientSessions = new Map<AttackLoss, Promise<ort.InferenceSession>>();
  const gradientSession = (loss: AttackLoss) => {
    let session = gradientSessions.get(loss);
    if (!session) {
      session = ort.InferenceSession.create(gradientModel(loss), options);
      gradientSessions.set(loss, session);
    }
    return session;
  };

  const lossAndGradient = async (
    batch: Tensor,
    labels: Int32Array,
    loss: AttackLoss,
    targets?: Int32Array,
  ): Promise<LossAndGradient> => {
    const count = batch.dims[0];
    if (classes < MINIMUM_CLASSES[loss]) {
      throw new TempestInputError(
        `the ${loss} loss needs at least ${MINIMUM_CLASSES[loss]} classes; the model has ${classes} (use ce instead)`,
      );
    }
    const session = await gradientSession(loss);
    // The gradient model's first input is the model's input (renamed if it was called `labels`...).
    const feeds: Record<string, ort.Tensor> = {
      [session.inputNames[0]]: new ort.Tensor('float32', batch.data, dimsOf(batch)),
      [GRADIENT_MODEL_NAMES.labels]: classTensor(labels, count, classes, 'labels'),
    };
    if (isTargeted(loss)) {
      if (!targets) throw new TempestInputError(`the ${loss} loss needs target classes`);
      feeds[GRADIENT_MODEL_NAMES.targets] = classTensor(targets, count, classes, 'targets');
    }
    const result = await session.run(feeds);
    const take = (name: string) => {
      const output = result[name];
      const values = (output.data as Float32Array).slice();
      output.dispose();
      return values;
    };
    return {
      loss: take(GRADIENT_MODEL_NAMES.loss),
      gradient: take(GRADIENT_MODEL_NAMES.gradient),
      logits: take(GRADIENT_MODEL_NAMES.logits),
    };
  };

  return {
    sampleDims,
    classes,
    logits: async (batch) => {
      const { values } = await runLogits(batch);
      if (settings.scores !== 'probabilities') return values;
      return values.map((p) => Math.log(Math.max(p, PROBABILITY_FLOOR)));
    },
    // Only a probability model's own output differs from logits() (which saves a forward pass).
    ...(settings.scores === 'probabilities' && {
      scores: async (batch: Tensor) => (await runLogits(batch)).values,
    }),
    ...(gradientUnavailable ? { gradientUnavailable } : { lossAndGradient }),
    gradientModel,
    async release() {
      const sessions = await Promise.allSettled(gradientSessions.values());
      gradientSessions.clear();
      for (const session of sessions) if (session.status === 'fulfilled') await session.value.release();
      await forward.release();
    },
  };
}

/** Labels or targets as the int64 [N] tensor the gradient model reads, checked against the classes. */
function classTensor(values: Int32Array, count: number, classes: number, what: string): ort.Tensor {
  if (values.length !== count) {
    throw new TempestInputError(`${what}: ${values.length} given for a batch of ${count}`);
  }
  const data = new BigInt64Array(count);
  values.forEach((value, index) => {
    if (!Number.isInteger(value) || value < 0 || value >= classes) {
      throw new TempestInputError(`${what}[${index}] = ${value} is not a class in [0, ${classes})`);
    }
    data[index] = BigInt(value);
  });
  return new ort.Tensor('int64', data, [count]);
}
