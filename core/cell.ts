import { encodeNpy } from './data/npy';
import { accuracyOf, type AccuracyMetrics } from './metrics/accuracy';
import type { BatchTransform, LoadedModel, ModelRunner } from './model/runner';
import { findPerturbation } from './perturb/registry';
import { randomnessScope, type PlannedCell } from './plan';
import { deriveKey, sampleStream } from './rng/keyed';
import type { LabeledData } from './tensor/tensor';

export interface CellComputation {
  readonly metrics: AccuracyMetrics;
  readonly classes: number;
  /** Model outputs for every sample, [N, C] float32, as .npy bytes. */
  readonly logitsNpy: Uint8Array;
}

/** Evaluate one cell: perturb each batch with the cell's seeded streams, run the model, score. */
export async function computeCell(args: {
  cell: PlannedCell;
  dataHash: string;
  data: LabeledData;
  model: LoadedModel;
  runner: ModelRunner;
  batchSize: number;
  onBatch?: (samplesDone: number) => void;
}): Promise<CellComputation> {
  const { values, classes } = await args.runner.predict(args.model, args.data.inputs, args.batchSize, {
    transform: batchTransform(args.cell, args.dataHash),
    onBatch: args.onBatch,
  });
  return {
    metrics: accuracyOf(values, classes, args.data.labels),
    classes,
    logitsNpy: encodeNpy('<f4', [args.data.labels.length, classes], values),
  };
}

function batchTransform(cell: PlannedCell, dataHash: string): BatchTransform | undefined {
  const { transform } = cell;
  if (transform.kind === 'clean') return undefined;
  const module = findPerturbation(transform.module, transform.version, `cell ${cell.index}`);
  const key = deriveKey(randomnessScope(dataHash, transform, cell.seed));
  return (batch, firstSampleIndex) =>
    module.apply(batch, transform.params, {
      streamFor: (index) => sampleStream(key, index),
      firstSampleIndex,
    });
}
