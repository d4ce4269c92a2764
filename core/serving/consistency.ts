import type { BatchTransform, LoadedModel, ModelRunner } from '../model/runner';
import { argmaxRows, type LabeledData } from '../tensor/tensor';

/**
 * Robustness under the server's batching. A server batches whatever is queued, so the same input
 * reaches the model in batches of 1, 8, 32... ORT may pick other kernels (or blocking) for other
 * batch shapes, and float sums taken in another order can round differently and, near a decision
 * boundary, change the predicted class. This re-runs the evaluation samples in batches of each
 * serving size (the last batch partial, as a server would see it) and counts the predictions that
 * differ from the ones at the evaluation batch size. With fixed thread counts ORT is
 * deterministic, so these figures are reproducible (`tempest verify` recomputes them).
 */
export interface ConsistencyRow {
  readonly model: string;
  readonly condition: string;
  /** The evaluation batch size (`execution.batchSize`) the predictions are compared with. */
  readonly referenceBatchSize: number;
  readonly referenceAccuracy: number;
  readonly batchSize: number;
  readonly samples: number;
  readonly accuracy: number;
  /** Samples whose predicted class at `batchSize` differs from the one at the reference size. */
  readonly flips: number;
  readonly flipRate: number;
  /** Largest absolute difference of any score: nonzero shows batching changed the floats at all. */
  readonly maxScoreDifference: number;
}

interface Predictions {
  readonly scores: Float32Array;
  readonly classes: number;
  readonly predicted: Int32Array;
  readonly correct: number;
}

async function predictInBatches(
  runner: ModelRunner,
  model: LoadedModel,
  data: LabeledData,
  batchSize: number,
  transform: BatchTransform | undefined,
): Promise<Predictions> {
  // The transform sees each batch with its first sample's dataset index, so perturbed inputs are
  // the same bytes whatever the batch size: only the batching differs between the runs.
  const { values, classes } = await runner.predict(model, data.inputs, batchSize, { transform });
  const predicted = argmaxRows(values, data.labels.length, classes);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === data.labels[i]) correct++;
  return { scores: values, classes, predicted, correct };
}

/** One model under one condition: a row per serving batch size. */
export async function batchingConsistency(args: {
  readonly runner: ModelRunner;
  readonly model: LoadedModel;
  readonly modelId: string;
  readonly condition: string;
  readonly data: LabeledData;
  readonly referenceBatchSize: number;
  readonly batchSizes: readonly number[];
  readonly transform?: BatchTransform;
}): Promise<ConsistencyRow[]> {
  const { runner, model, data, transform } = args;
  const samples = data.labels.length;
  const reference = await predictInBatches(runner, model, data, args.referenceBatchSize, transform);
  const rows: ConsistencyRow[] = [];
  for (const batchSize of args.batchSizes) {
    const served =
      batchSize === args.referenceBatchSize
        ? reference
        : await predictInBatches(runner, model, data, batchSize, transform);
    let flips = 0;
    for (let i = 0; i < samples; i++) if (served.predicted[i] !== reference.predicted[i]) flips++;
    let maxScoreDifference = 0;
    for (let i = 0; i < served.scores.length; i++) {
      const difference = Math.abs(served.scores[i] - reference.scores[i]);
      if (difference > maxScoreDifference) maxScoreDifference = difference;
    }
    rows.push({
      model: args.modelId,
      condition: args.condition,
      referenceBatchSize: args.referenceBatchSize,
      referenceAccuracy: samples === 0 ? 0 : reference.correct / samples,
      batchSize,
      samples,
      accuracy: samples === 0 ? 0 : served.correct / samples,
      flips,
      flipRate: samples === 0 ? 0 : flips / samples,
      maxScoreDifference,
    });
  }
  return rows;
}
