import { TempestInputError } from '../errors';
import { deriveKey, sampleStream } from '../rng/keyed';
import { elementCount, sliceSamples, type LabeledData, type Tensor } from '../tensor/tensor';
import type { AttackTransform } from './conditions';
import { zeroGradientFraction } from './guard-rails';
import { distancesPerSample, type Bounds } from './norms';
import { attackByName } from './registry';
import { attackRates, AttackValidityError, statistic, summarizeAttack, type AttackSummary } from './summary';
import type { AccessVector, AttackNorm, ModelOracle } from './types';

/**
 * What an attack cell records besides its logits: the attack's own account, checked by the model
 * (the batch summaries of summary.ts merged over the cell, without the per-sample flags).
 */
export interface AttackCellSummary extends Omit<AttackSummary, 'success'> {
  readonly attack: string;
  readonly access: AccessVector;
  readonly norm: AttackNorm;
  readonly epsilon: number;
  /** White-box attacks: share of samples whose CE gradient at the clean input is all zeros. */
  readonly zeroGradientFraction: number | null;
}

/**
 * The model seen with the data's sample shape: attacks reason about images as [C, H, W] (Square's
 * windows), while a model may take the same values flat, e.g. an MLP on [784].
 */
export function withSampleDims(oracle: ModelOracle, sampleDims: readonly number[]): ModelOracle {
  if (elementCount(sampleDims) !== elementCount(oracle.sampleDims)) {
    throw new TempestInputError(
      `input shape mismatch: the model takes samples of [${oracle.sampleDims.join(', ')}], the data has [${sampleDims.join(', ')}]`,
      'ShapeMismatch',
    );
  }
  const asModel = (batch: Tensor): Tensor => ({
    dims: [batch.dims[0], ...oracle.sampleDims],
    data: batch.data,
  });
  const lossAndGradient = oracle.lossAndGradient?.bind(oracle);
  const scores = oracle.scores?.bind(oracle);
  return {
    sampleDims,
    classes: oracle.classes,
    logits: (batch) => oracle.logits(asModel(batch)),
    ...(scores && { scores: (batch) => scores(asModel(batch)) }),
    ...(lossAndGradient && {
      lossAndGradient: (batch, labels, loss, targets) =>
        lossAndGradient(asModel(batch), labels, loss, targets),
    }),
  };
}

/**
 * Attack every sample of a cell in batches and return the logits of the adversarial inputs (so
 * the run's evaluation treats the cell like any other) and the attack's summary. Each sample's
 * randomness comes from its own stream keyed by (data, attack, params, seed), so a sample's
 * adversarial never depends on batching. An adversarial outside the threat model stops the run.
 */
export async function computeAttackCell(args: {
  transform: AttackTransform;
  randomnessScope: unknown;
  data: LabeledData;
  oracle: ModelOracle;
  /** Why the model has no gradient graph, when it has none. */
  gradientUnavailable?: Error;
  bounds: Bounds;
  batchSize: number;
  onBatch?: (samplesDone: number) => void;
}): Promise<{ values: Float32Array; classes: number; attack: AttackCellSummary }> {
  const { transform, data, oracle, bounds } = args;
  const module = attackByName(transform.module);
  if (module.access === 'white-box' && !oracle.lossAndGradient) {
    throw new TempestInputError(
      `attack ${module.name} needs input gradients, but ${args.gradientUnavailable?.message ?? 'the model has no gradient graph'}`,
      'GradientUnavailable',
    );
  }
  const key = deriveKey(args.randomnessScope);
  const count = data.labels.length;
  const classes = oracle.classes;
  const values = new Float32Array(count * classes);
  const queries = new Uint32Array(count);
  const success = new Array<number>(count).fill(0);
  const linf: number[] = [];
  const l2: number[] = [];
  let attackable = 0;
  let robust = 0;
  let changed = 0;
  let zeroGradients = 0;
  for (let start = 0; start < count; start += args.batchSize) {
    const end = Math.min(count, start + args.batchSize);
    const batch = sliceSamples(data.inputs, start, end);
    const labels = data.labels.subarray(start, end);
    const result = await module.run(batch, labels, transform.params, oracle, {
      streamFor: (index) => sampleStream(key, index),
      firstSampleIndex: start,
      bounds,
    });
    const adversarialLogits = await oracle.logits(result.adversarial);
    let summary;
    try {
      summary = summarizeAttack({
        clean: batch,
        adversarial: result.adversarial,
        labels,
        cleanLogits: await oracle.logits(batch),
        adversarialLogits,
        classes,
        queries: result.queries,
        norm: transform.norm,
        epsilon: transform.epsilon,
        bounds,
        targets: result.targets,
      });
    } catch (error) {
      if (error instanceof AttackValidityError) {
        throw new TempestInputError(
          `attack ${module.name}@${module.version}, samples ${start}-${end - 1}: ${error.message}`,
          'AttackInvalid',
        );
      }
      throw error;
    }
    // Stored as the model gives them (probabilities stay probabilities), like every other cell.
    values.set(oracle.scores ? await oracle.scores(result.adversarial) : adversarialLogits, start * classes);
    queries.set(result.queries, start);
    const size = elementCount(batch.dims.slice(1));
    const linfDistances = distancesPerSample(result.adversarial.data, batch.data, size, 'linf');
    const l2Distances = distancesPerSample(result.adversarial.data, batch.data, size, 'l2');
    summary.success.forEach((flag, i) => {
      if (!flag) return;
      success[start + i] = 1;
      linf.push(linfDistances[i]);
      l2.push(l2Distances[i]);
    });
    attackable += summary.attackable;
    robust += Math.round(summary.robustAccuracy * summary.samples);
    changed += Math.round(summary.predictionChangeRate * summary.samples);
    if (module.access === 'white-box' && oracle.lossAndGradient) {
      // Diagnostics, outside the attack's budget: are the gradients informative at all?
      const { gradient } = await oracle.lossAndGradient(batch, labels, 'ce');
      zeroGradients += Math.round(zeroGradientFraction(gradient, end - start) * (end - start));
    }
    args.onBatch?.(end);
  }
  const successes = success.reduce((sum, flag) => sum + flag, 0);
  return {
    values,
    classes,
    attack: {
      attack: module.name,
      access: module.access,
      norm: transform.norm,
      epsilon: transform.epsilon,
      ...attackRates({ samples: count, attackable, successes, robust, changed }),
      queries: statistic(queries),
      perturbation: { linf: statistic(linf), l2: statistic(l2) },
      zeroGradientFraction: module.access === 'white-box' && count > 0 ? zeroGradients / count : null,
    },
  };
}
