import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { createOnnxModelOracle, type OnnxModelOracle } from '../../core/attack/gradient/oracle';
import { lossFromLogits } from '../../core/attack/losses';
import type { AttackLoss, LossAndGradient } from '../../core/attack/types';
import { deriveKey, sampleStream } from '../../core/rng/keyed';
import { encodeInitializer } from '../../core/model/onnx-builder';
import { makeTensor, sampleSize, type Tensor } from '../../core/tensor/tensor';

export const ALL_LOSSES: readonly AttackLoss[] = ['ce', 'dlr', 'ce-targeted', 'dlr-targeted'];

export function oracleFor(bytes: Uint8Array, sampleDims?: readonly number[]): Promise<OnnxModelOracle> {
  return createOnnxModelOracle(bytes, { intraOpThreads: 1, interOpThreads: 1, sampleDims });
}

/** Seeded values: uniform in [-scale, scale], a fixed function of `scope`. */
export function seeded(scope: string, count: number, scale = 1): Float32Array {
  const stream = sampleStream(deriveKey({ gradientTest: scope }), 0);
  return Float32Array.from({ length: count }, () => (2 * stream.uniform() - 1) * scale);
}

export interface GradientCheck {
  /** ||g - g_fd|| / ||g_fd|| per sample. */
  readonly relativeErrors: number[];
  /** |loss - reference| / max(|reference|, 1e-30) per sample (reference: lossFromLogits of ORT logits). */
  readonly lossErrors: number[];
  readonly gradientNorms: number[];
  /** Per sample, the fraction of input elements left out as straddling a kink (see checkGradientLosses). */
  readonly excludedFractions: number[];
}

/** ||analytic - finite|| / ||finite|| (norm-wise relative error, over the elements kept) and ||analytic||. */
function compare(
  analytic: Float32Array,
  finite: Float64Array,
  keep?: (element: number) => boolean,
): { relativeError: number; gradientNorm: number } {
  let difference = 0;
  let reference = 0;
  let gradient = 0;
  finite.forEach((value, element) => {
    if (keep && !keep(element)) return;
    difference += (analytic[element] - value) ** 2;
    reference += value ** 2;
    gradient += analytic[element] ** 2;
  });
  return {
    relativeError: Math.sqrt(difference) / Math.max(Math.sqrt(reference), 1e-30),
    gradientNorm: Math.sqrt(gradient),
  };
}

/** `samples` seeded shuffles of `size` values evenly spaced over [-1, 1] (on the onGrid grid). */
export function distinctValues(scope: string, samples: number, size: number): Float32Array {
  const draws = seeded(scope, samples * size);
  const values = new Float32Array(samples * size);
  for (let sample = 0; sample < samples; sample++) {
    const order = [...Array(size).keys()].sort(
      (a, b) => draws[sample * size + a] - draws[sample * size + b] || a - b,
    );
    order.forEach((rank, position) => (values[sample * size + rank] = -1 + (2 * position) / size));
  }
  return onGrid(values);
}

/** Round to multiples of 2^-12, so that x +- k 2^-10 (k <= 2) stays exact in float32 for |x| < 2^11. */
export function onGrid(values: Float32Array): Float32Array {
  return values.map((value) => Math.round(value * 4096) / 4096);
}

/**
 * Compare the gradient graph with finite differences of the TS reference loss
 * (core/attack/losses.ts) over the original model's ORT logits, in float64: the five-point
 * stencil (8 (L(x+h) - L(x-h)) - (L(x+2h) - L(x-2h))) / 12h, whose error is O(h^4) for smooth
 * graphs and zero inside a linear region of a piecewise-linear one. Inputs must be on the
 * onGrid grid and h a power of two >= 2^-12, so every moved input is exact in float32.
 */
export async function checkGradient(
  oracle: OnnxModelOracle,
  batch: Tensor,
  labels: Int32Array,
  loss: AttackLoss,
  targets: Int32Array | undefined,
  step: number,
): Promise<GradientCheck> {
  return (await checkGradientLosses(oracle, batch, labels, [loss], targets, step)).get(loss)!;
}

/** Logits of some model of the same classifier (e.g. one with its kinks frozen at a sample). */
export interface LogitsSource {
  logits(batch: Tensor): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface FiniteDifferenceOptions {
  /** Leave out elements whose finite differences straddle a kink (see checkGradientLosses). */
  readonly kinkTolerance?: number;
  /**
   * The model whose logits the finite differences of the sample `base` are taken of (default: the
   * oracle's), e.g. frozenKinksReference: the classifier with its kinks frozen at `base`.
   */
  readonly referenceAt?: (base: Float32Array) => Promise<LogitsSource>;
}

/**
 * checkGradient for several losses at once: the moved inputs' logits (4 per input element and
 * sample, the expensive part) are computed once and shared by every loss.
 *
 * `kinkTolerance` (off by default) is for deep piecewise-linear networks (ReLU, max pooling,
 * ReLU6, HardSwish), where some of the many kinks fall within 2h of a sample whatever h is: an
 * element whose two central differences, (L(x+h) - L(x-h)) / 2h and (L(x+2h) - L(x-2h)) / 4h,
 * differ by more than kinkTolerance times the sample's rms finite difference is not in one linear
 * (or smooth) piece, so finite differences say nothing about its derivative; it is left out of the
 * comparison and counted in excludedFractions. The choice uses only the finite differences, never
 * the gradient under test, so it cannot hide a wrong gradient on the elements it keeps.
 */
export async function checkGradientLosses(
  oracle: OnnxModelOracle,
  batch: Tensor,
  labels: Int32Array,
  losses: readonly AttackLoss[],
  targets: Int32Array | undefined,
  step: number,
  options: FiniteDifferenceOptions = {},
): Promise<Map<AttackLoss, GradientCheck>> {
  const { kinkTolerance, referenceAt } = options;
  const offsets = [step, -step, 2 * step, -2 * step];
  const weights = [8, -8, -1, 1].map((weight) => weight / (12 * step));
  const results = new Map<AttackLoss, LossAndGradient>();
  for (const loss of losses) results.set(loss, await oracle.lossAndGradient!(batch, labels, loss, targets));
  const reference = await oracle.logits(batch);
  const size = sampleSize(batch);
  const classes = oracle.classes;
  const checks = new Map<AttackLoss, GradientCheck>(
    losses.map((loss) => [
      loss,
      { relativeErrors: [], lossErrors: [], gradientNorms: [], excludedFractions: [] },
    ]),
  );
  for (let sample = 0; sample < batch.dims[0]; sample++) {
    const label = labels[sample];
    const target = targets ? targets[sample] : -1;
    const base = batch.data.subarray(sample * size, (sample + 1) * size);
    const moved = makeTensor([offsets.length * size, ...batch.dims.slice(1)]);
    for (let element = 0; element < size; element++) {
      offsets.forEach((offset, k) => {
        const row = element * offsets.length + k;
        const copy = moved.data.subarray(row * size, (row + 1) * size);
        copy.set(base);
        copy[element] = base[element] + offset;
        if (copy[element] - base[element] !== offset)
          throw new Error(`input ${base[element]} is not on the grid`);
      });
    }
    let logits: Float32Array;
    if (referenceAt) {
      const reference = await referenceAt(base);
      try {
        logits = await reference.logits(moved);
      } finally {
        await reference.release();
      }
    } else {
      logits = await oracle.logits(moved);
    }
    for (const loss of losses) {
      const result = results.get(loss)!;
      const check = checks.get(loss)!;
      const lossAt = (values: Float32Array, row: number) =>
        lossFromLogits(values, row * classes, classes, label, loss, target);
      const expected = lossAt(reference, sample);
      check.lossErrors.push(Math.abs(result.loss[sample] - expected) / Math.max(Math.abs(expected), 1e-30));
      const at = (element: number, k: number) => lossAt(logits, element * offsets.length + k);
      const finite = Float64Array.from({ length: size }, (_, element) =>
        weights.reduce((sum, weight, k) => sum + weight * at(element, k), 0),
      );
      let keep: ((element: number) => boolean) | undefined;
      if (kinkTolerance !== undefined) {
        const rms = Math.sqrt(finite.reduce((sum, value) => sum + value * value, 0) / size);
        const straddles = Array.from({ length: size }, (_, element) => {
          const near = (at(element, 0) - at(element, 1)) / (2 * step);
          const far = (at(element, 2) - at(element, 3)) / (4 * step);
          return Math.abs(near - far) > kinkTolerance * rms;
        });
        keep = (element) => !straddles[element];
        check.excludedFractions.push(straddles.filter(Boolean).length / size);
      } else {
        check.excludedFractions.push(0);
      }
      const comparison = compare(result.gradient.subarray(sample * size, (sample + 1) * size), finite, keep);
      check.relativeErrors.push(comparison.relativeError);
      check.gradientNorms.push(comparison.gradientNorm);
    }
  }
  return checks;
}

/**
 * Labels and targets at fixed ranks of each sample's clean logits (sample i: label at rank
 * [0, 1, last][i % 3], target at rank [2, 3, 0][i % 3]): correctly classified, runner-up and
 * hopeless samples, and never the rank-3 label for which DLR is identically 1 (zero gradient).
 */
export function labelsAndTargets(logits: Float32Array, classes: number) {
  const count = logits.length / classes;
  const ranked = (sample: number) =>
    [...Array(classes).keys()].sort((a, b) => logits[sample * classes + b] - logits[sample * classes + a]);
  const labelRanks = [0, 1, classes - 1];
  const targetRanks = [2, 3, 0];
  const labels = Int32Array.from({ length: count }, (_, i) => ranked(i)[labelRanks[i % 3]]);
  const targets = Int32Array.from({ length: count }, (_, i) => ranked(i)[targetRanks[i % 3]]);
  return { labels, targets };
}

/**
 * The `count` candidates whose logits are furthest from a tie (largest smallest gap between two
 * sorted logits): the DLR losses and the arg max in CE have kinks at ties, where finite
 * differences are meaningless. Returns the chosen batch and its logits.
 */
export async function wellSeparatedSamples(
  oracle: OnnxModelOracle,
  candidates: Tensor,
  count: number,
): Promise<{ batch: Tensor; logits: Float32Array }> {
  const logits = await oracle.logits(candidates);
  const classes = oracle.classes;
  const size = sampleSize(candidates);
  const gap = (sample: number) => {
    const sorted = Array.from(logits.subarray(sample * classes, (sample + 1) * classes)).sort(
      (a, b) => b - a,
    );
    return Math.min(...sorted.slice(1).map((value, i) => sorted[i] - value));
  };
  const chosen = [...Array(candidates.dims[0]).keys()]
    .map((sample) => ({ sample, gap: gap(sample) }))
    .sort((a, b) => b.gap - a.gap || a.sample - b.sample)
    .slice(0, count)
    .map(({ sample }) => sample)
    .sort((a, b) => a - b);
  const batch = makeTensor([count, ...candidates.dims.slice(1)]);
  const chosenLogits = new Float32Array(count * classes);
  chosen.forEach((sample, i) => {
    batch.data.set(candidates.data.subarray(sample * size, (sample + 1) * size), i * size);
    chosenLogits.set(logits.subarray(sample * classes, (sample + 1) * classes), i * classes);
  });
  return { batch, logits: chosenLogits };
}

/**
 * The same comparison against a float64 reference forward pass (e.g. Float64Model), for several
 * losses at once: central differences (L(x+h) - L(x-h)) / 2h in float64 throughout, so a tiny
 * step (far below the distance to the nearest ReLU or max-pool kink) has no rounding noise to
 * speak of. Also returns how far ORT's float32 logits are from the reference's.
 */
export async function checkGradientFloat64(
  oracle: OnnxModelOracle,
  /** The reference logits around one sample (e.g. the network linearized at it). */
  referenceAround: (base: Float64Array) => (sample: Float64Array) => Float64Array,
  batch: Tensor,
  labels: Int32Array,
  targets: Int32Array,
  losses: readonly AttackLoss[],
  step: number,
): Promise<{ checks: Map<AttackLoss, GradientCheck>; logitDifferences: number[] }> {
  const size = sampleSize(batch);
  const classes = oracle.classes;
  const logitDifferences: number[] = [];
  const results = new Map<AttackLoss, LossAndGradient>();
  for (const loss of losses) results.set(loss, await oracle.lossAndGradient!(batch, labels, loss, targets));
  const checks = new Map<AttackLoss, GradientCheck>(
    losses.map((loss) => [
      loss,
      { relativeErrors: [], lossErrors: [], gradientNorms: [], excludedFractions: [] },
    ]),
  );
  for (let sample = 0; sample < batch.dims[0]; sample++) {
    const base = Float64Array.from(batch.data.subarray(sample * size, (sample + 1) * size));
    const referenceLogits = referenceAround(base);
    const logits = referenceLogits(base);
    const ortLogits = results.get(losses[0])!.logits.subarray(sample * classes, (sample + 1) * classes);
    logitDifferences.push(Math.max(...Array.from(logits, (value, k) => Math.abs(value - ortLogits[k]))));
    // Reference logits at x +- h e_j, shared by every loss.
    const moved = Array.from({ length: size }, (_, element) =>
      [step, -step].map((offset) => {
        const input = base.slice();
        input[element] += offset;
        return referenceLogits(input);
      }),
    );
    for (const loss of losses) {
      const result = results.get(loss)!;
      const check = checks.get(loss)!;
      const lossAt = (values: Float64Array) =>
        lossFromLogits(values, 0, classes, labels[sample], loss, targets[sample]);
      const expected = lossAt(logits);
      check.lossErrors.push(Math.abs(result.loss[sample] - expected) / Math.max(Math.abs(expected), 1e-30));
      const finite = Float64Array.from(moved, ([up, down]) => (lossAt(up) - lossAt(down)) / (2 * step));
      const comparison = compare(result.gradient.subarray(sample * size, (sample + 1) * size), finite);
      check.relativeErrors.push(comparison.relativeError);
      check.gradientNorms.push(comparison.gradientNorm);
      check.excludedFractions.push(0);
    }
  }
  return { checks, logitDifferences };
}

/** Ops with kinks that frozenKinksModel freezes at a sample. */
const KINK_OPS = new Set(['Relu', 'Clip', 'MaxPool', 'HardSigmoid', 'HardSwish']);

/**
 * A reference for finite differences of a deep piecewise-linear network: the classifier with
 * every kink frozen at the sample `base`, i.e. each ReLU, Clip (ReLU6), HardSigmoid and HardSwish
 * replaced by its own piece at `base` (a constant slope mask and offset; HardSwish's middle piece
 * x (x/6 + 1/2) stays quadratic) and each MaxPool by a gather of the inputs it picked at `base`.
 * At `base` the frozen model has the classifier's logits and, as its pieces are the ones whose
 * derivatives the gradient rules use (ReLU's mask x > 0, Clip's inclusive bounds, the pool's arg
 * max as ORT picks it), the same gradient; but it has no kink anywhere, so finite differences with
 * a step large enough to drown float32 rounding noise measure that gradient. Masks, offsets and
 * arg maxes come from one ORT run of the classifier on `base` (the kink ops' inputs, outputs and
 * MaxPool indices as extra outputs); the smooth ops (sigmoid, softmax, norms, GELU) are untouched.
 */
export async function frozenKinksReference(
  modelBytes: Uint8Array,
  sampleDims: readonly number[],
  transform: (logits: Float32Array) => Float32Array = (logits) => logits,
): Promise<(base: Float32Array) => Promise<LogitsSource>> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  const probeModel = onnx.ModelProto.decode(modelBytes);
  const probeGraph = probeModel.graph as onnx.GraphProto;
  const kinks = probeGraph.node.filter((node) => KINK_OPS.has(node.opType ?? ''));
  const probed = new Map<string, onnx.TensorProto.DataType>();
  for (const node of kinks) {
    if (node.opType === 'MaxPool') {
      if ((node.output ?? []).length > 1 && node.output![1]) throw new Error('MaxPool indices already used');
      node.output = [node.output![0], `${node.output![0]}/probe-indices`];
      probed.set(node.input![0], onnx.TensorProto.DataType.FLOAT);
      probed.set(node.output[1], onnx.TensorProto.DataType.INT64);
    } else {
      probed.set(node.input![0], onnx.TensorProto.DataType.FLOAT);
      probed.set(node.output![0], onnx.TensorProto.DataType.FLOAT);
    }
  }
  const outputNames = new Set(probeGraph.output.map((output) => output.name));
  for (const [name, elemType] of probed) {
    if (!outputNames.has(name)) probeGraph.output.push({ name, type: { tensorType: { elemType } } });
  }
  const probe = await ort.InferenceSession.create(onnx.ModelProto.encode(probeModel).finish(), options);
  const inputName = probe.inputNames[0];
  const logitsName = probe.outputNames[0];

  return async (base) => {
    const run = await probe.run({ [inputName]: new ort.Tensor('float32', base, [1, ...sampleDims]) });
    const value = (name: string) => run[name];
    const model = onnx.ModelProto.decode(modelBytes);
    const graph = model.graph as onnx.GraphProto;
    const nodes: onnx.INodeProto[] = [];
    let counter = 0;
    const constant = (dims: readonly number[], data: Float32Array | BigInt64Array) => {
      const name = `frozen/${counter++}`;
      graph.initializer.push(onnx.TensorProto.fromObject(encodeInitializer({ name, dims, data })));
      return name;
    };
    const node = (
      opType: string,
      inputs: string[],
      output?: string,
      attribute: onnx.IAttributeProto[] = [],
    ) => {
      const name = output ?? `frozen/${counter++}`;
      nodes.push({ opType, input: inputs, output: [name], name, attribute });
      return name;
    };
    for (const original of graph.node) {
      const opType = original.opType ?? '';
      if (!KINK_OPS.has(opType)) {
        nodes.push(original);
        continue;
      }
      const [x, y] = [original.input![0], original.output![0]];
      if (opType === 'MaxPool') {
        const indices = value(`${y}/probe-indices`);
        const [, channels, ...pooled] = indices.dims;
        // ORT's indices count over [N, C, H, W] (N = 1 here): make them positions within each plane.
        const planeSize = value(x)
          .dims.slice(2)
          .reduce((a, b) => a * b, 1);
        const positions = pooled.reduce((a, b) => a * b, 1);
        const local = BigInt64Array.from(
          indices.data as BigInt64Array,
          (index, k) => index - BigInt(Math.floor(k / positions) * planeSize),
        );
        const picked = constant([1, channels, positions], local);
        const flat = node('Reshape', [x, constant([3], BigInt64Array.of(0n, 0n, -1n))]);
        const leading = node('Slice', [
          node('Shape', [x]),
          constant([1], BigInt64Array.of(0n)),
          constant([1], BigInt64Array.of(2n)),
        ]);
        const shape = node(
          'Concat',
          [leading, constant([1], BigInt64Array.of(BigInt(positions)))],
          undefined,
          [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
        );
        const gathered = node('GatherElements', [flat, node('Expand', [picked, shape])], undefined, [
          { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 2 },
        ]);
        node('Reshape', [gathered, constant([4], BigInt64Array.from([0, 0, ...pooled], BigInt))], y);
        continue;
      }
      const x0 = value(x).data as Float32Array;
      const y0 = value(y).data as Float32Array;
      const dims = value(x).dims;
      if (opType === 'HardSwish') {
        const h0 = Array.from(x0, (v) => Math.min(Math.max(v / 6 + 0.5, 0), 1));
        const above = constant(
          dims,
          Float32Array.from(h0, (h) => (h >= 1 ? 1 : 0)),
        );
        const inside = constant(
          dims,
          Float32Array.from(h0, (h) => (h > 0 && h < 1 ? 1 : 0)),
        );
        const middle = node('Add', [
          node('Mul', [x, constant([], Float32Array.of(1 / 6))]),
          constant([], Float32Array.of(0.5)),
        ]);
        node('Mul', [x, node('Add', [above, node('Mul', [inside, middle])])], y);
        continue;
      }
      // Relu, Clip, HardSigmoid: y = slope x + offset on the piece `base` is on.
      const alpha =
        opType === 'HardSigmoid' ? (original.attribute?.find((a) => a.name === 'alpha')?.f ?? 0.2) : 1;
      const slope = Float32Array.from(x0, (v, k) => {
        if (opType === 'Relu') return v > 0 ? 1 : 0;
        if (opType === 'Clip') return y0[k] === v ? 1 : 0;
        return y0[k] > 0 && y0[k] < 1 ? alpha : 0;
      });
      const offset = Float32Array.from(y0, (v, k) => v - slope[k] * x0[k]);
      node('Add', [node('Mul', [x, constant(dims, slope)]), constant(dims, offset)], y);
    }
    graph.node = nodes;
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), options);
    return {
      async logits(batch: Tensor) {
        const result = await session.run({ [inputName]: new ort.Tensor('float32', batch.data, batch.dims) });
        return transform((result[logitsName].data as Float32Array).slice());
      },
      release: () => session.release(),
    };
  };
}
