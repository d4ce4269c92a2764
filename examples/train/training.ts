import { deriveKey, sampleStream } from '../../core/rng/keyed';
import type { LabeledData } from '../../core/tensor/tensor';
import { softmaxCrossEntropy, type Parameter } from './layers';
import { backward, forward, gatherBatch, type Network } from './models';

export interface TrainingConfig {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** The learning rate is multiplied by this after every epoch. */
  readonly learningRateDecay: number;
  readonly momentum: number;
}

/** Heavy-ball SGD: velocity = momentum * velocity + grad; value -= rate * velocity. */
class MomentumSgd {
  private readonly velocities: Float64Array[];

  constructor(
    private readonly parameters: readonly Parameter[],
    private readonly momentum: number,
  ) {
    this.velocities = parameters.map((parameter) => new Float64Array(parameter.value.length));
  }

  zeroGrad(): void {
    for (const parameter of this.parameters) parameter.grad.fill(0);
  }

  step(learningRate: number): void {
    this.parameters.forEach(({ value, grad }, index) => {
      const velocity = this.velocities[index];
      for (let i = 0; i < value.length; i++) {
        velocity[i] = this.momentum * velocity[i] + grad[i];
        value[i] -= learningRate * velocity[i];
      }
    });
  }
}

/** A Fisher-Yates permutation of 0..count-1 from the epoch's own Philox stream. */
function epochOrder(network: Network, epoch: number, count: number): Int32Array {
  const stream = sampleStream(deriveKey({ model: network.name, purpose: 'minibatch-order' }), epoch);
  const order = Int32Array.from({ length: count }, (_, index) => index);
  for (let index = count - 1; index > 0; index--) {
    const swap = Math.floor(stream.uniform() * (index + 1));
    [order[index], order[swap]] = [order[swap], order[index]];
  }
  return order;
}

/** Train in place; `onEpoch` hears each epoch's mean minibatch loss. */
export function train(
  network: Network,
  data: LabeledData,
  config: TrainingConfig,
  onEpoch: (epoch: number, meanLoss: number) => void = () => {},
): void {
  const optimizer = new MomentumSgd(
    network.layers.flatMap((layer) => layer.parameters),
    config.momentum,
  );
  const count = data.labels.length;
  let learningRate = config.learningRate;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const order = epochOrder(network, epoch, count);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < count; start += config.batchSize) {
      const indices = order.subarray(start, Math.min(count, start + config.batchSize));
      const logits = forward(network, gatherBatch(data.inputs, indices), indices.length);
      const labels = Array.from(indices, (index) => data.labels[index]);
      const { loss, gradLogits } = softmaxCrossEntropy(logits, labels, network.classes);
      optimizer.zeroGrad();
      backward(network, gradLogits, indices.length);
      optimizer.step(learningRate);
      lossSum += loss;
      batches++;
    }
    onEpoch(epoch, lossSum / batches);
    learningRate *= config.learningRateDecay;
  }
}
