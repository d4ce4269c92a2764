import type { PhiloxStream } from '../rng/philox';
import { argmaxRows, makeTensor, sampleSize, type Tensor } from '../tensor/tensor';
import { budgetedOracle, type BudgetedOracle } from './oracle';
import type { AttackBatchResult, AttackContext, ModelOracle } from './types';

/**
 * Bookkeeping every attack shares: per-sample views of a batch, success tests, per-sample random
 * streams and the final result. Attacks keep one state per sample and only batch their model
 * queries, so a sample's result never depends on which other samples share its batch.
 */

/** Sample `index` of a flat batch as a view. */
export function sampleView(data: Float32Array, size: number, index: number): Float32Array {
  return data.subarray(index * size, (index + 1) * size);
}

/** One tensor holding the given per-sample vectors, for one oracle call. */
export function stackRows(rows: readonly ArrayLike<number>[], sampleDims: readonly number[]): Tensor {
  const tensor = makeTensor([rows.length, ...sampleDims]);
  const size = sampleSize(tensor);
  rows.forEach((row, index) => tensor.data.set(row, index * size));
  return tensor;
}

/**
 * Untargeted success: the prediction is not the label. Targeted (target >= 0): the prediction is
 * the target. Ties go to the lowest class, as everywhere in Tempest.
 */
export function isAdversarial(
  logits: Float32Array,
  row: number,
  classes: number,
  label: number,
  target = -1,
): boolean {
  const predicted = argmaxRows(logits.subarray(row * classes, (row + 1) * classes), 1, classes)[0];
  return target >= 0 ? predicted === target : predicted !== label;
}

/** The random stream of every sample of the batch, in batch order. */
export function batchStreams(context: AttackContext, count: number): PhiloxStream[] {
  return Array.from({ length: count }, (_, i) => context.streamFor(context.firstSampleIndex + i));
}

/** Batch indices of samples still worth querying: not yet successful and with budget left. */
export function aliveSamples(success: Uint8Array, oracle: BudgetedOracle, needed = 1): number[] {
  const alive: number[] = [];
  for (let i = 0; i < success.length; i++) if (!success[i] && oracle.remaining(i) >= needed) alive.push(i);
  return alive;
}

/**
 * The attack's result. Successful samples get their adversarial input; the others the clean input,
 * or with `keepUnsuccessful` what the attack left in `adversarial` (gradient attacks: the
 * highest-loss point, inside the ball).
 */
export function finishAttack(
  batch: Tensor,
  adversarial: Float32Array,
  success: Uint8Array,
  oracle: BudgetedOracle,
  options: { readonly targets?: Int32Array; readonly keepUnsuccessful?: boolean } = {},
): AttackBatchResult {
  const size = sampleSize(batch);
  const output = makeTensor(batch.dims, options.keepUnsuccessful ? adversarial.slice() : batch.data.slice());
  for (let i = 0; i < success.length; i++) {
    if (success[i]) output.data.set(sampleView(adversarial, size, i), i * size);
  }
  return {
    adversarial: output,
    queries: oracle.queries.slice(),
    success: success.slice(),
    targets: options.targets,
  };
}

/** Targets from clean logits: the class ranked `rank` (1 = top) by the model, as APGD-T picks them. */
export function rankedClass(logits: Float32Array, row: number, classes: number, rank: number): number {
  const order = Array.from({ length: classes }, (_, c) => c).sort(
    (a, b) => logits[row * classes + b] - logits[row * classes + a] || a - b,
  );
  return order[rank - 1];
}

/**
 * The budgeted oracle of one attack run on `batch`, after checking that the batch's samples are
 * what the model takes (a mismatch is the caller's error, caught before any query).
 */
export function oracleForBatch(batch: Tensor, model: ModelOracle, budget?: number): BudgetedOracle {
  const expected = model.sampleDims.reduce((product, dim) => product * dim, 1);
  if (sampleSize(batch) !== expected) {
    throw new Error(
      `attack batch samples have ${sampleSize(batch)} values but the model takes [${model.sampleDims.join(', ')}]`,
    );
  }
  return budgetedOracle(model, batch.dims[0], budget);
}
