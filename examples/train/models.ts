import { deriveKey, sampleStream } from '../../core/rng/keyed';
import { argmaxRows, makeTensor, sampleSize, type LabeledData, type Tensor } from '../../core/tensor/tensor';
import { Conv2d3x3, Dense, Flatten, MaxPool2x2, Relu, WeightedLayer, type Layer } from './layers';

/** A feed-forward classifier: a chain of layers from an image batch to one row of logits per sample. */
export interface Network {
  /** Also the scope of the network's random streams: renaming it changes the trained weights. */
  readonly name: string;
  /** Per-sample input shape, [channels, height, width]. */
  readonly inputDims: readonly number[];
  readonly classes: number;
  readonly layers: readonly Layer[];
}

const MNIST_INPUT = [1, 28, 28] as const;
const DIGITS = 10;

/**
 * He-uniform initialisation, U(-sqrt(6 / fanIn), sqrt(6 / fanIn)): the same variance as He's
 * normal init, but drawn with nothing beyond a multiply and a square root, which are exact in IEEE
 * arithmetic, so the initial weights cannot depend on the platform's log or cos. Biases start at 0.
 */
function initialize(network: Network): Network {
  const key = deriveKey({ model: network.name, purpose: 'he-uniform-init' });
  network.layers.forEach((layer, layerIndex) => {
    if (!(layer instanceof WeightedLayer)) return;
    const bound = Math.sqrt(6 / layer.fanIn);
    const stream = sampleStream(key, layerIndex);
    const weights = layer.weight.value;
    for (let index = 0; index < weights.length; index++) weights[index] = (2 * stream.uniform() - 1) * bound;
  });
  return network;
}

/** Flatten -> Gemm 784x128 -> Relu -> Gemm 128x10. */
export function createMlp(): Network {
  return initialize({
    name: 'mnist-mlp',
    inputDims: MNIST_INPUT,
    classes: DIGITS,
    layers: [
      new Flatten('flatten', 784),
      new Dense('fc1', 784, 128),
      new Relu('relu1', 128),
      new Dense('fc2', 128, DIGITS),
    ],
  });
}

/** Conv 1->8 -> Relu -> MaxPool -> Conv 8->16 -> Relu -> MaxPool -> Flatten -> Gemm 784x10. */
export function createCnn(): Network {
  return initialize({
    name: 'mnist-cnn',
    inputDims: MNIST_INPUT,
    classes: DIGITS,
    layers: [
      new Conv2d3x3('conv1', 1, 8, 28, 28),
      new Relu('relu1', 8 * 28 * 28),
      new MaxPool2x2('pool1', 8, 28, 28),
      new Conv2d3x3('conv2', 8, 16, 14, 14),
      new Relu('relu2', 16 * 14 * 14),
      new MaxPool2x2('pool2', 16, 14, 14),
      new Flatten('flatten', 16 * 7 * 7),
      new Dense('fc', 16 * 7 * 7, DIGITS),
    ],
  });
}

export function forward(network: Network, input: Float64Array, batch: number): Float64Array {
  return network.layers.reduce((activation, layer) => layer.forward(activation, batch), input);
}

/**
 * Back-propagate logit gradients, adding to every parameter's `grad`. Input gradients stop at the
 * first layer with parameters: below it nothing learns (for the MLP that saves a 784x128 product).
 */
export function backward(network: Network, gradLogits: Float64Array, batch: number): void {
  const firstTrainable = network.layers.findIndex((layer) => layer.parameters.length > 0);
  let gradient = gradLogits;
  for (let index = network.layers.length - 1; index >= firstTrainable; index--) {
    gradient = network.layers[index].backward(gradient, batch, index > firstTrainable);
  }
}

/** Samples `indices` of `inputs` copied into one float64 batch, in that order. */
export function gatherBatch(inputs: Tensor, indices: ArrayLike<number>): Float64Array {
  const size = sampleSize(inputs);
  const batch = new Float64Array(indices.length * size);
  for (let row = 0; row < indices.length; row++) {
    const start = indices[row] * size;
    for (let i = 0; i < size; i++) batch[row * size + i] = inputs.data[start + i];
  }
  return batch;
}

/** Logits rounded to float32, as an ONNX runtime returns them for the exported model. */
export function predictLogits(network: Network, inputs: Tensor, batchSize = 256): Tensor {
  const count = inputs.dims[0];
  const logits = makeTensor([count, network.classes]);
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const indices = Array.from({ length: end - start }, (_, offset) => start + offset);
    logits.data.set(forward(network, gatherBatch(inputs, indices), end - start), start * network.classes);
  }
  return logits;
}

/** Fraction of samples whose largest logit is the label (ties to the lowest class). */
export function accuracyOf(logits: Tensor, labels: Int32Array): number {
  const predicted = argmaxRows(logits.data, labels.length, logits.dims[1]);
  return predicted.filter((label, index) => label === labels[index]).length / labels.length;
}

export function testAccuracy(network: Network, data: LabeledData): number {
  return accuracyOf(predictLogits(network, data.inputs), data.labels);
}
