/**
 * Hand-written forward and backward passes of the few layers the example models need. Training
 * must give the same bytes on every run, so every sum runs in one fixed loop order, on one
 * thread, with no library whose kernels might reorder or parallelise it. Parameters are float32
 * (they are exported as such, bit for bit); activations and gradients are float64, so float32
 * rounding happens only where weights are stored. The one transcendental step, exp/log in the
 * loss, uses V8's own portable (fdlibm) implementations, not the platform's libm.
 */

/** A trainable tensor and the gradient accumulated for it over the current minibatch. */
export interface Parameter {
  readonly name: string;
  readonly dims: readonly number[];
  readonly value: Float32Array;
  readonly grad: Float64Array;
}

function parameter(name: string, dims: readonly number[]): Parameter {
  const size = dims.reduce((product, dim) => product * dim, 1);
  return { name, dims, value: new Float32Array(size), grad: new Float64Array(size) };
}

/**
 * One layer over a batch of samples stored back to back. `forward` keeps what `backward` needs;
 * `backward` adds parameter gradients and, when `propagate` is set, returns the gradient of the
 * layer's input (an empty array otherwise: the first trainable layer's input gradient is never
 * used, and for a first convolution it would cost as much as the rest of its backward pass).
 */
interface LayerBehaviour {
  readonly name: string;
  readonly parameters: readonly Parameter[];
  /** Elements per sample of the output. */
  readonly outputSize: number;
  forward(input: Float64Array, batch: number): Float64Array;
  backward(gradOutput: Float64Array, batch: number, propagate: boolean): Float64Array;
}

const NOTHING: Float64Array = new Float64Array(0);

/** A layer with a weight whose first axis is the output and one bias per output. */
export abstract class WeightedLayer {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly parameters: readonly Parameter[];
  /** The last forward input, which the weight gradient needs. */
  protected input = NOTHING;

  constructor(
    readonly name: string,
    weightDims: readonly number[],
  ) {
    this.weight = parameter(`${name}.weight`, weightDims);
    this.bias = parameter(`${name}.bias`, [weightDims[0]]);
    this.parameters = [this.weight, this.bias];
  }

  /** Inputs feeding each output: what initialisation scales by. */
  get fanIn(): number {
    return this.weight.value.length / this.bias.value.length;
  }
}

/** Fully connected: out = W x + b with W stored [out, in], as ONNX Gemm with transB = 1 reads it. */
export class Dense extends WeightedLayer implements LayerBehaviour {
  readonly kind = 'dense';

  constructor(
    name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super(name, [outFeatures, inFeatures]);
  }

  get outputSize(): number {
    return this.outFeatures;
  }

  forward(input: Float64Array, batch: number): Float64Array {
    this.input = input;
    const { inFeatures, outFeatures } = this;
    const weight = this.weight.value;
    const bias = this.bias.value;
    const output = new Float64Array(batch * outFeatures);
    for (let sample = 0; sample < batch; sample++) {
      const inOffset = sample * inFeatures;
      for (let out = 0; out < outFeatures; out++) {
        const weightOffset = out * inFeatures;
        let sum = bias[out];
        for (let i = 0; i < inFeatures; i++) sum += weight[weightOffset + i] * input[inOffset + i];
        output[sample * outFeatures + out] = sum;
      }
    }
    return output;
  }

  backward(gradOutput: Float64Array, batch: number, propagate: boolean): Float64Array {
    const { inFeatures, outFeatures, input } = this;
    const weight = this.weight.value;
    const gradWeight = this.weight.grad;
    const gradBias = this.bias.grad;
    const gradInput = propagate ? new Float64Array(batch * inFeatures) : NOTHING;
    for (let sample = 0; sample < batch; sample++) {
      const inOffset = sample * inFeatures;
      for (let out = 0; out < outFeatures; out++) {
        const g = gradOutput[sample * outFeatures + out];
        const weightOffset = out * inFeatures;
        gradBias[out] += g;
        for (let i = 0; i < inFeatures; i++) gradWeight[weightOffset + i] += g * input[inOffset + i];
        if (propagate) {
          for (let i = 0; i < inFeatures; i++) gradInput[inOffset + i] += g * weight[weightOffset + i];
        }
      }
    }
    return gradInput;
  }
}

/** 3x3 convolution, stride 1, zero padding 1 (same size out); weights [outC, inC, 3, 3] as in ONNX Conv. */
export class Conv2d3x3 extends WeightedLayer implements LayerBehaviour {
  readonly kind = 'conv2d3x3';

  constructor(
    name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly height: number,
    readonly width: number,
  ) {
    super(name, [outChannels, inChannels, 3, 3]);
  }

  get outputSize(): number {
    return this.outChannels * this.height * this.width;
  }

  /**
   * Visit every (sample, out channel, in channel, tap) with the offsets of the out and in planes
   * and the tap's row and column shift: the one loop nest both passes share.
   */
  private eachTap(
    batch: number,
    visit: (outPlane: number, inPlane: number, tap: number, shiftY: number, shiftX: number) => void,
  ): void {
    const plane = this.height * this.width;
    for (let sample = 0; sample < batch; sample++) {
      for (let outC = 0; outC < this.outChannels; outC++) {
        const outPlane = (sample * this.outChannels + outC) * plane;
        for (let inC = 0; inC < this.inChannels; inC++) {
          const inPlane = (sample * this.inChannels + inC) * plane;
          for (let tap = 0; tap < 9; tap++) {
            visit(
              outPlane,
              inPlane,
              (outC * this.inChannels + inC) * 9 + tap,
              Math.floor(tap / 3) - 1,
              (tap % 3) - 1,
            );
          }
        }
      }
    }
  }

  forward(input: Float64Array, batch: number): Float64Array {
    this.input = input;
    const { height, width } = this;
    const plane = height * width;
    const weight = this.weight.value;
    const bias = this.bias.value;
    const output = new Float64Array(batch * this.outChannels * plane);
    for (let sample = 0; sample < batch; sample++) {
      for (let outC = 0; outC < this.outChannels; outC++) {
        output.fill(
          bias[outC],
          (sample * this.outChannels + outC) * plane,
          (sample * this.outChannels + outC + 1) * plane,
        );
      }
    }
    this.eachTap(batch, (outPlane, inPlane, tap, shiftY, shiftX) => {
      const w = weight[tap];
      const yEnd = Math.min(height, height - shiftY);
      const xStart = Math.max(0, -shiftX);
      const xEnd = Math.min(width, width - shiftX);
      for (let y = Math.max(0, -shiftY); y < yEnd; y++) {
        const outRow = outPlane + y * width;
        const inRow = inPlane + (y + shiftY) * width + shiftX;
        for (let x = xStart; x < xEnd; x++) output[outRow + x] += w * input[inRow + x];
      }
    });
    return output;
  }

  backward(gradOutput: Float64Array, batch: number, propagate: boolean): Float64Array {
    const { height, width, input } = this;
    const plane = height * width;
    const weight = this.weight.value;
    const gradWeight = this.weight.grad;
    const gradBias = this.bias.grad;
    const gradInput = propagate ? new Float64Array(input.length) : NOTHING;
    for (let sample = 0; sample < batch; sample++) {
      for (let outC = 0; outC < this.outChannels; outC++) {
        const outPlane = (sample * this.outChannels + outC) * plane;
        let sum = 0;
        for (let i = 0; i < plane; i++) sum += gradOutput[outPlane + i];
        gradBias[outC] += sum;
      }
    }
    this.eachTap(batch, (outPlane, inPlane, tap, shiftY, shiftX) => {
      const w = weight[tap];
      const yEnd = Math.min(height, height - shiftY);
      const xStart = Math.max(0, -shiftX);
      const xEnd = Math.min(width, width - shiftX);
      let sum = 0;
      for (let y = Math.max(0, -shiftY); y < yEnd; y++) {
        const outRow = outPlane + y * width;
        const inRow = inPlane + (y + shiftY) * width + shiftX;
        for (let x = xStart; x < xEnd; x++) sum += gradOutput[outRow + x] * input[inRow + x];
        if (propagate) {
          for (let x = xStart; x < xEnd; x++) gradInput[inRow + x] += w * gradOutput[outRow + x];
        }
      }
      gradWeight[tap] += sum;
    });
    return gradInput;
  }
}

export class Relu implements LayerBehaviour {
  readonly kind = 'relu';
  readonly parameters: readonly Parameter[] = [];
  private output = NOTHING;

  constructor(
    readonly name: string,
    readonly outputSize: number,
  ) {}

  forward(input: Float64Array): Float64Array {
    this.output = input.map((value) => (value > 0 ? value : 0));
    return this.output;
  }

  backward(gradOutput: Float64Array): Float64Array {
    return gradOutput.map((g, index) => (this.output[index] > 0 ? g : 0));
  }
}

/** 2x2 max pooling with stride 2 over even-sized planes; the gradient goes to the first maximum. */
export class MaxPool2x2 implements LayerBehaviour {
  readonly kind = 'maxpool2x2';
  readonly parameters: readonly Parameter[] = [];
  private winners = new Int32Array(0);
  private inputSize = 0;

  constructor(
    readonly name: string,
    readonly channels: number,
    readonly height: number,
    readonly width: number,
  ) {
    if (height % 2 !== 0 || width % 2 !== 0)
      throw new Error(`${name}: 2x2 pooling needs even sizes, got ${height}x${width}`);
  }

  get outputSize(): number {
    return (this.channels * this.height * this.width) / 4;
  }

  forward(input: Float64Array, batch: number): Float64Array {
    const { width } = this;
    const outWidth = width / 2;
    const outPlanes = batch * this.channels;
    const outPlane = (this.height / 2) * outWidth;
    const output = new Float64Array(outPlanes * outPlane);
    this.winners = new Int32Array(output.length);
    this.inputSize = input.length;
    for (let planeIndex = 0; planeIndex < outPlanes; planeIndex++) {
      for (let y = 0; y < this.height / 2; y++) {
        for (let x = 0; x < outWidth; x++) {
          const topLeft = planeIndex * 4 * outPlane + 2 * y * width + 2 * x;
          let winner = topLeft;
          if (input[topLeft + 1] > input[winner]) winner = topLeft + 1;
          if (input[topLeft + width] > input[winner]) winner = topLeft + width;
          if (input[topLeft + width + 1] > input[winner]) winner = topLeft + width + 1;
          const outIndex = planeIndex * outPlane + y * outWidth + x;
          output[outIndex] = input[winner];
          this.winners[outIndex] = winner;
        }
      }
    }
    return output;
  }

  backward(gradOutput: Float64Array): Float64Array {
    const gradInput = new Float64Array(this.inputSize);
    for (let index = 0; index < gradOutput.length; index++)
      gradInput[this.winners[index]] += gradOutput[index];
    return gradInput;
  }
}

/** Memory is already row-major, so flattening changes nothing here; it exists to be exported. */
export class Flatten implements LayerBehaviour {
  readonly kind = 'flatten';
  readonly parameters: readonly Parameter[] = [];

  constructor(
    readonly name: string,
    readonly outputSize: number,
  ) {}

  forward(input: Float64Array): Float64Array {
    return input;
  }

  backward(gradOutput: Float64Array): Float64Array {
    return gradOutput;
  }
}

export type Layer = Dense | Conv2d3x3 | Relu | MaxPool2x2 | Flatten;

/**
 * Mean softmax cross-entropy of a batch of logits, and its gradient with respect to the logits
 * (already divided by the batch size, so parameter gradients are batch means).
 */
export function softmaxCrossEntropy(
  logits: Float64Array,
  labels: ArrayLike<number>,
  classes: number,
): { loss: number; gradLogits: Float64Array } {
  const batch = labels.length;
  const gradLogits = new Float64Array(logits.length);
  let loss = 0;
  for (let sample = 0; sample < batch; sample++) {
    const offset = sample * classes;
    let max = logits[offset];
    for (let c = 1; c < classes; c++) max = Math.max(max, logits[offset + c]);
    let total = 0;
    for (let c = 0; c < classes; c++) {
      gradLogits[offset + c] = Math.exp(logits[offset + c] - max);
      total += gradLogits[offset + c];
    }
    loss += Math.log(total) - (logits[offset + labels[sample]] - max);
    for (let c = 0; c < classes; c++) {
      const probability = gradLogits[offset + c] / total;
      gradLogits[offset + c] = (probability - (c === labels[sample] ? 1 : 0)) / batch;
    }
  }
  return { loss: loss / batch, gradLogits };
}
