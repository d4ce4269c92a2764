import { onnx } from 'onnx-proto';

/**
 * A float64 interpreter for the ops of the example MNIST models (Gemm, Conv, Relu, MaxPool,
 * Flatten), written from the ONNX spec: an independent reference whose finite differences are
 * free of float32 rounding noise, so steps small enough to stay clear of ReLU and max-pool kinks
 * still give exact slopes. One sample at a time, NCHW with N = 1.
 *
 * With a KinkPattern it can also evaluate the network linearized at a point: every ReLU keeps the
 * sign and every max pool the winner (the first maximum, as ORT) they had there. Finite
 * differences of that linear map give the exact subgradient the gradient graph must return even
 * on exact ties, e.g. max pooling over the constant background of a raw digit.
 */
interface Value {
  readonly dims: number[];
  readonly data: Float64Array;
}

/** Per Relu / MaxPool output: the ReLU's active mask, or the flat input index each max took. */
export type KinkPattern = Map<string, Uint8Array | Int32Array>;

export class Float64Model {
  private readonly graph: onnx.GraphProto;
  private readonly constants = new Map<string, Value>();

  constructor(bytes: Uint8Array) {
    this.graph = onnx.ModelProto.decode(bytes).graph as onnx.GraphProto;
    for (const tensor of this.graph.initializer) {
      const raw = tensor.rawData ?? new Uint8Array(0);
      const floats = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      this.constants.set(tensor.name ?? '', {
        dims: (tensor.dims ?? []).map(Number),
        data: Float64Array.from(floats),
      });
    }
  }

  /**
   * Logits of one sample given as its flat values; `sampleDims` without the batch axis. With a
   * `frozen` pattern, kinks missing from it are recorded and those in it are replayed.
   */
  logits(sample: ArrayLike<number>, sampleDims: readonly number[], frozen?: KinkPattern): Float64Array {
    const values = new Map(this.constants);
    values.set(this.graph.input[0].name ?? '', { dims: [1, ...sampleDims], data: Float64Array.from(sample) });
    for (const node of this.graph.node) {
      const inputs = (node.input ?? []).map((name) => values.get(name)!);
      const output = node.output![0];
      values.set(output, evaluate(node, inputs, frozen, output));
    }
    return values.get(this.graph.output[0].name ?? '')!.data;
  }

  /** The kink pattern at a sample, for logits(..., pattern) of the network linearized there. */
  pattern(sample: ArrayLike<number>, sampleDims: readonly number[]): KinkPattern {
    const pattern: KinkPattern = new Map();
    this.logits(sample, sampleDims, pattern);
    return pattern;
  }
}

function ints(node: onnx.INodeProto, name: string, fallback: number[]): number[] {
  const attribute = node.attribute?.find((a) => a.name === name);
  return attribute?.ints?.length ? attribute.ints.map(Number) : fallback;
}

function int(node: onnx.INodeProto, name: string, fallback: number): number {
  const attribute = node.attribute?.find((a) => a.name === name);
  return attribute?.i === undefined || attribute.i === null ? fallback : Number(attribute.i);
}

function evaluate(
  node: onnx.INodeProto,
  inputs: Value[],
  frozen: KinkPattern | undefined,
  output: string,
): Value {
  const [x] = inputs;
  switch (node.opType) {
    case 'Relu': {
      const active = frozen?.get(output) ?? Uint8Array.from(x.data, (v) => (v > 0 ? 1 : 0));
      frozen?.set(output, active);
      return { dims: x.dims, data: x.data.map((v, i) => (active[i] ? v : 0)) };
    }
    case 'Flatten':
      return { dims: [1, x.data.length], data: x.data };
    case 'Gemm':
      return gemm(node, inputs);
    case 'Conv':
      return window(node, inputs, 'conv');
    case 'MaxPool': {
      const recorded = frozen?.get(output);
      if (recorded) {
        const shape = window(node, inputs, 'max').dims;
        return { dims: shape, data: Float64Array.from(recorded, (index) => x.data[index]) };
      }
      const pooled = window(node, inputs, 'max');
      frozen?.set(output, pooled.winners!);
      return pooled;
    }
    default:
      throw new Error(`float64 reference: op ${node.opType} not implemented`);
  }
}

function gemm(node: onnx.INodeProto, [a, b, c]: Value[]): Value {
  if (int(node, 'transA', 0) !== 0) throw new Error('float64 reference: transA');
  const transB = int(node, 'transB', 0) === 1;
  const [k, n] = transB ? [b.dims[1], b.dims[0]] : b.dims;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let sum = c ? c.data[c.data.length === n ? j : 0] : 0;
    for (let i = 0; i < k; i++) sum += a.data[i] * b.data[transB ? j * k + i : i * n + j];
    out[j] = sum;
  }
  return { dims: [1, n], data: out };
}

/** 2-D Conv (group 1) or MaxPool over one sample, with pads, strides and dilations. */
function window(
  node: onnx.INodeProto,
  [x, w, bias]: Value[],
  kind: 'conv' | 'max',
): Value & { winners?: Int32Array } {
  const [, channels, height, width] = x.dims;
  const kernel = kind === 'conv' ? w.dims.slice(2) : ints(node, 'kernel_shape', []);
  const [strideY, strideX] = ints(node, 'strides', [1, 1]);
  const [dilationY, dilationX] = ints(node, 'dilations', [1, 1]);
  const [padTop, padLeft, padBottom, padRight] = ints(node, 'pads', [0, 0, 0, 0]);
  const outHeight = Math.floor((height + padTop + padBottom - dilationY * (kernel[0] - 1) - 1) / strideY) + 1;
  const outWidth = Math.floor((width + padLeft + padRight - dilationX * (kernel[1] - 1) - 1) / strideX) + 1;
  const outChannels = kind === 'conv' ? w.dims[0] : channels;
  const plane = outHeight * outWidth;
  const out = new Float64Array(outChannels * plane);
  const winners = new Int32Array(kind === 'max' ? out.length : 0);
  for (let o = 0; o < outChannels; o++) {
    out.fill(kind === 'conv' ? (bias ? bias.data[o] : 0) : -Infinity, o * plane, (o + 1) * plane);
    // Loop over kernel taps outside and output positions inside (contiguous rows).
    for (let c = kind === 'conv' ? 0 : o; c < (kind === 'conv' ? channels : o + 1); c++) {
      for (let ky = 0; ky < kernel[0]; ky++) {
        for (let kx = 0; kx < kernel[1]; kx++) {
          const weight = kind === 'conv' ? w.data[((o * channels + c) * kernel[0] + ky) * kernel[1] + kx] : 0;
          for (let oy = 0; oy < outHeight; oy++) {
            const y = oy * strideY - padTop + ky * dilationY;
            if (y < 0 || y >= height) continue;
            const row = (c * height + y) * width;
            const outRow = o * plane + oy * outWidth;
            for (let ox = 0; ox < outWidth; ox++) {
              const column = ox * strideX - padLeft + kx * dilationX;
              if (column < 0 || column >= width) continue;
              const value = x.data[row + column];
              if (kind === 'conv') out[outRow + ox] += value * weight;
              else if (value > out[outRow + ox]) {
                // Strictly greater: ties keep the first maximum in scan order, as ORT does.
                out[outRow + ox] = value;
                winners[outRow + ox] = row + column;
              }
            }
          }
        }
      }
    }
  }
  return { dims: [1, outChannels, outHeight, outWidth], data: out, ...(kind === 'max' ? { winners } : {}) };
}
