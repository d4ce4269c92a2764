import { sha256Hex } from '../hash';
import { ModelRunner, type RunnerSettings } from '../model/runner';
import { elementCount, makeTensor, type Tensor } from '../tensor/tensor';
import { lossesFromLogits } from './losses';
import type { AttackLoss, LossAndGradient, ModelOracle } from './types';

/**
 * Model access for attacks: per-sample query counting and budgets, a finite-difference gradient
 * oracle over any logits oracle, and a logits oracle over an ONNX model run by onnxruntime-node.
 *
 * Query counting follows the convention of score- and decision-based attack papers (Andriushchenko
 * et al. 2020, Square Attack; Chen et al. 2020, HopSkipJumpAttack; Guo et al. 2019, SimBA): every
 * model evaluation of one input is one query of the sample it belongs to. A loss+gradient
 * evaluation also counts as one query (one forward+backward pass), as in AutoAttack's reports.
 * ART and Foolbox have no such counter (ART #1238, Foolbox #638); here attacks never count
 * themselves: the wrapper does, so an attack cannot under-report.
 */

/** An attack asked the model about a sample whose query budget was already spent: an attack bug. */
export class QueryBudgetExceededError extends Error {
  override readonly name = 'QueryBudgetExceededError';
}

/**
 * A model oracle bound to one attack batch: each row of every call names the batch sample it
 * belongs to (several rows may belong to one sample, e.g. HopSkipJump's probes), and each row is
 * one query of that sample.
 */
export interface BudgetedOracle {
  readonly sampleDims: readonly number[];
  readonly classes: number;
  readonly hasGradient: boolean;
  /** Queries used so far per batch sample. */
  readonly queries: Uint32Array;
  /** Per-sample budget; Infinity when unlimited. */
  readonly budget: number;
  remaining(sample: number): number;
  logits(rows: Tensor, samples: ArrayLike<number>): Promise<Float32Array>;
  lossAndGradient(
    rows: Tensor,
    samples: ArrayLike<number>,
    labels: Int32Array,
    loss: AttackLoss,
    targets?: Int32Array,
  ): Promise<LossAndGradient>;
}

/**
 * Wrap `base` for a batch of `sampleCount` samples with a per-sample budget. A call that would
 * take any sample past its budget throws before the model runs, so a sample over budget is never
 * queried again and an attack that forgets to check `remaining` fails loudly instead of
 * silently overspending.
 */
export function budgetedOracle(base: ModelOracle, sampleCount: number, budget = Infinity): BudgetedOracle {
  if (!(budget > 0)) throw new Error(`query budget must be positive, got ${budget}`);
  const queries = new Uint32Array(sampleCount);
  const charge = (rows: Tensor, samples: ArrayLike<number>) => {
    if (rows.dims[0] !== samples.length) {
      throw new Error(`oracle call has ${rows.dims[0]} rows but names ${samples.length} samples`);
    }
    const asked = new Map<number, number>();
    for (let row = 0; row < samples.length; row++) {
      const sample = samples[row];
      if (!Number.isInteger(sample) || sample < 0 || sample >= sampleCount) {
        throw new Error(`oracle call names sample ${sample}, outside the batch of ${sampleCount}`);
      }
      asked.set(sample, (asked.get(sample) ?? 0) + 1);
    }
    for (const [sample, count] of asked) {
      if (queries[sample] + count > budget) {
        throw new QueryBudgetExceededError(
          `sample ${sample} would use ${queries[sample] + count} queries, over its budget of ${budget}`,
        );
      }
    }
    for (const [sample, count] of asked) queries[sample] += count;
  };
  return {
    sampleDims: base.sampleDims,
    classes: base.classes,
    hasGradient: base.lossAndGradient !== undefined,
    queries,
    budget,
    remaining: (sample) => budget - queries[sample],
    async logits(rows, samples) {
      charge(rows, samples);
      return base.logits(rows);
    },
    async lossAndGradient(rows, samples, labels, loss, targets) {
      if (!base.lossAndGradient) {
        throw new Error('this model oracle has no gradients; only score- or decision-based attacks apply');
      }
      charge(rows, samples);
      return base.lossAndGradient(rows, labels, loss, targets);
    },
  };
}

export interface FiniteDifferenceOptions {
  /** Half-width h of the central difference (in input units). */
  readonly step?: number;
  /** Rows per model call; whole samples' probe sets are packed up to this many rows. */
  readonly maxRowsPerCall?: number;
}

export interface FiniteDifferenceOracle extends ModelOracle {
  /** Model rows evaluated so far (2D+1 per gradient): the true cost of this baseline. */
  readonly forwardRows: () => number;
}

/**
 * Gradients by central finite differences of the TypeScript loss over the base oracle's logits:
 * dL/dx_j ~ (L(x + h e_j) - L(x - h e_j)) / (x_j+h - x_j-h), with the denominator taken from the
 * float32 values actually fed to the model. 2D+1 rows per sample (the centre gives the loss and
 * logits), batched into few model calls. The probes are not clipped to the input bounds: the
 * derivative of the model is wanted, also at pixels sitting on a bound. This is the slow,
 * model-agnostic baseline against which the ONNX gradient graph is benchmarked.
 */
export function createFiniteDifferenceOracle(
  base: ModelOracle,
  options: FiniteDifferenceOptions = {},
): FiniteDifferenceOracle {
  const step = options.step ?? 1e-3;
  const maxRows = options.maxRowsPerCall ?? 8192;
  const size = elementCount(base.sampleDims);
  const rowsPerSample = 2 * size + 1;
  const samplesPerCall = Math.max(1, Math.floor(maxRows / rowsPerSample));
  let forwardRows = 0;
  // Reused across calls: a fresh zero-filled buffer of tens of MB per call costs as much as the model.
  let probeBuffer = new Float32Array(0);
  return {
    sampleDims: base.sampleDims,
    classes: base.classes,
    logits: (batch) => base.logits(batch),
    forwardRows: () => forwardRows,
    async lossAndGradient(batch, labels, loss, targets) {
      const count = batch.dims[0];
      const classes = base.classes;
      const result = {
        loss: new Float32Array(count),
        gradient: new Float32Array(count * size),
        logits: new Float32Array(count * classes),
      };
      for (let first = 0; first < count; first += samplesPerCall) {
        const last = Math.min(count, first + samplesPerCall);
        const rows = (last - first) * rowsPerSample;
        if (probeBuffer.length < rows * size)
          probeBuffer = new Float32Array(samplesPerCall * rowsPerSample * size);
        const probes = makeTensor([rows, ...base.sampleDims], probeBuffer.subarray(0, rows * size));
        const denominators = new Float64Array((last - first) * size);
        for (let sample = first; sample < last; sample++) {
          const x = batch.data.subarray(sample * size, (sample + 1) * size);
          const block = (sample - first) * rowsPerSample;
          probes.data.set(x, block * size);
          for (let j = 0; j < size; j++) {
            const plus = (block + 1 + 2 * j) * size;
            const minus = plus + size;
            probes.data.set(x, plus);
            probes.data.set(x, minus);
            probes.data[plus + j] = x[j] + step;
            probes.data[minus + j] = x[j] - step;
            denominators[(sample - first) * size + j] = probes.data[plus + j] - probes.data[minus + j];
          }
        }
        const logits = await base.logits(probes);
        forwardRows += probes.dims[0];
        const rowLabels = new Int32Array(probes.dims[0]);
        const rowTargets = targets ? new Int32Array(probes.dims[0]) : undefined;
        for (let row = 0; row < rowLabels.length; row++) {
          const sample = first + Math.floor(row / rowsPerSample);
          rowLabels[row] = labels[sample];
          if (rowTargets && targets) rowTargets[row] = targets[sample];
        }
        const losses = lossesFromLogits(logits, classes, rowLabels, loss, rowTargets);
        for (let sample = first; sample < last; sample++) {
          const block = (sample - first) * rowsPerSample;
          result.loss[sample] = losses[block];
          result.logits.set(logits.subarray(block * classes, (block + 1) * classes), sample * classes);
          for (let j = 0; j < size; j++) {
            const difference = losses[block + 1 + 2 * j] - losses[block + 2 + 2 * j];
            result.gradient[sample * size + j] = difference / denominators[(sample - first) * size + j];
          }
        }
      }
      return result;
    },
  };
}

export interface OrtLogitsOracle extends ModelOracle {
  readonly sha256: string;
  close(): Promise<void>;
}

/**
 * Logits of an ONNX classifier through Tempest's ModelRunner (fixed ORT thread counts, CPU
 * provider). `sampleDims` is needed only when the model's input dims are symbolic beyond the batch
 * axis. The number of classes is read from one forward pass of a zero input.
 */
export async function createOrtLogitsOracle(
  modelBytes: Uint8Array,
  settings: RunnerSettings & { readonly sampleDims?: readonly number[] },
): Promise<OrtLogitsOracle> {
  const runner = new ModelRunner({
    intraOpThreads: settings.intraOpThreads,
    interOpThreads: settings.interOpThreads,
  });
  const sha256 = sha256Hex(modelBytes);
  const model = await runner.load(sha256, async () => modelBytes);
  const declared = model.signature.inputDims.slice(1);
  const sampleDims = settings.sampleDims ?? declared;
  if (sampleDims.some((dim) => dim <= 0)) {
    throw new Error(
      `model ${sha256.slice(0, 12)} has symbolic input dims [${declared.join(', ')}]; pass sampleDims`,
    );
  }
  const { classes } = await runner.predictBatch(model, makeTensor([1, ...sampleDims]));
  return {
    sha256,
    sampleDims,
    classes,
    async logits(batch) {
      if (batch.dims[0] === 0) return new Float32Array(0);
      return (await runner.predictBatch(model, batch)).values;
    },
    close: () => runner.close(),
  };
}
