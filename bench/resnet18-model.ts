/**
 * torchvision's resnet18 as an ONNX graph with seeded random weights, for benchmarks that need a
 * real ImageNet-size architecture on a machine without Python or a model hub. The layers are
 * torchvision's (He et al. 2016, "Deep Residual Learning"; torchvision.models.resnet18): conv 7x7
 * stride 2 + BatchNorm + ReLU, max-pool 3x3 stride 2, four stages of two BasicBlocks with 64, 128,
 * 256 and 512 channels (the first block of stages 2-4 strides by 2 and has a 1x1 stride-2
 * convolution + BatchNorm on its shortcut), global average pool, and a 1000-way fully connected
 * layer: 11,689,512 parameters, as torchvision counts them. Weights follow torchvision's
 * initialisation in scale (convolutions: variance 2 / fan_out, drawn uniform; BatchNorm: weight 1,
 * bias 0, running mean 0, variance 1; fc: uniform +-1/sqrt(512)) from a Philox stream, so the
 * same seed always gives the same bytes. BatchNorm stays a separate node, as torch.onnx writes
 * it in training-mode exports; onnxruntime folds it into the convolution either way.
 */
import {
  buildModel,
  CLASSIFIER_INPUT,
  CLASSIFIER_OUTPUT,
  type InitializerSpec,
  type NodeSpec,
} from '../core/model/onnx-builder';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import type { PhiloxStream } from '../core/rng/philox';

export const RESNET18_PARAMETERS = 11_689_512;

class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: InitializerSpec[] = [];
  private parameterCount = 0;

  constructor(private readonly stream: PhiloxStream) {}

  get parameters(): number {
    return this.parameterCount;
  }

  private constant(name: string, dims: number[], fill: (index: number) => number, trainable: boolean) {
    const data = new Float32Array(dims.reduce((product, dim) => product * dim, 1));
    for (let i = 0; i < data.length; i++) data[i] = fill(i);
    this.initializers.push({ name, dims, data });
    if (trainable) this.parameterCount += data.length;
    return name;
  }

  private uniform(bound: number): number {
    return (2 * this.stream.uniform() - 1) * bound;
  }

  conv(name: string, input: string, inChannels: number, outChannels: number, kernel: number, stride: number) {
    const fanOut = outChannels * kernel * kernel;
    // Uniform on +-sqrt(3) * std has variance std^2 = 2 / fan_out (kaiming_normal_, mode fan_out).
    const bound = Math.sqrt(3) * Math.sqrt(2 / fanOut);
    const weight = this.constant(
      `${name}.weight`,
      [outChannels, inChannels, kernel, kernel],
      () => this.uniform(bound),
      true,
    );
    const pad = Math.floor(kernel / 2);
    this.nodes.push({
      opType: 'Conv',
      name,
      inputs: [input, weight],
      outputs: [name],
      attributes: {
        kernel_shape: { ints: [kernel, kernel] },
        strides: { ints: [stride, stride] },
        pads: { ints: [pad, pad, pad, pad] },
      },
    });
    return name;
  }

  batchNorm(name: string, input: string, channels: number) {
    const inputs = [
      input,
      this.constant(`${name}.weight`, [channels], () => 1, true),
      this.constant(`${name}.bias`, [channels], () => 0, true),
      this.constant(`${name}.running_mean`, [channels], () => 0, false),
      this.constant(`${name}.running_var`, [channels], () => 1, false),
    ];
    this.nodes.push({
      opType: 'BatchNormalization',
      name,
      inputs,
      outputs: [name],
      attributes: { epsilon: { float: 1e-5 } },
    });
    return name;
  }

  op(opType: string, name: string, inputs: string[], attributes?: NodeSpec['attributes']) {
    this.nodes.push({ opType, name, inputs, outputs: [name], ...(attributes ? { attributes } : {}) });
    return name;
  }

  basicBlock(name: string, input: string, inChannels: number, outChannels: number, stride: number) {
    let x = this.conv(`${name}.conv1`, input, inChannels, outChannels, 3, stride);
    x = this.batchNorm(`${name}.bn1`, x, outChannels);
    x = this.op('Relu', `${name}.relu1`, [x]);
    x = this.conv(`${name}.conv2`, x, outChannels, outChannels, 3, 1);
    x = this.batchNorm(`${name}.bn2`, x, outChannels);
    let shortcut = input;
    if (stride !== 1 || inChannels !== outChannels) {
      shortcut = this.conv(`${name}.downsample.0`, input, inChannels, outChannels, 1, stride);
      shortcut = this.batchNorm(`${name}.downsample.1`, shortcut, outChannels);
    }
    x = this.op('Add', `${name}.add`, [x, shortcut]);
    return this.op('Relu', `${name}.relu2`, [x]);
  }

  fc(name: string, input: string, inFeatures: number, outFeatures: number, output: string) {
    const bound = 1 / Math.sqrt(inFeatures);
    const weight = this.constant(
      `${name}.weight`,
      [outFeatures, inFeatures],
      () => this.uniform(bound),
      true,
    );
    const bias = this.constant(`${name}.bias`, [outFeatures], () => this.uniform(bound), true);
    this.nodes.push({
      opType: 'Gemm',
      name,
      inputs: [input, weight, bias],
      outputs: [output],
      attributes: { transB: { int: 1 } },
    });
  }
}

/** resnet18 taking float32 "input" [N, 3, 224, 224] to "logits" [N, 1000] (dynamic batch axis). */
export function buildResnet18(seed = 0): Uint8Array {
  const graph = new GraphBuilder(sampleStream(deriveKey({ bench: 'resnet18', seed }), 0));
  let x = graph.conv('conv1', CLASSIFIER_INPUT, 3, 64, 7, 2);
  x = graph.batchNorm('bn1', x, 64);
  x = graph.op('Relu', 'relu', [x]);
  x = graph.op('MaxPool', 'maxpool', [x], {
    kernel_shape: { ints: [3, 3] },
    strides: { ints: [2, 2] },
    pads: { ints: [1, 1, 1, 1] },
  });
  let channels = 64;
  for (const [stage, width] of [64, 128, 256, 512].entries()) {
    for (let block = 0; block < 2; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      x = graph.basicBlock(`layer${stage + 1}.${block}`, x, channels, width, stride);
      channels = width;
    }
  }
  x = graph.op('GlobalAveragePool', 'avgpool', [x]);
  x = graph.op('Flatten', 'flatten', [x], { axis: { int: 1 } });
  graph.fc('fc', x, 512, 1000, CLASSIFIER_OUTPUT);
  if (graph.parameters !== RESNET18_PARAMETERS) {
    throw new Error(
      `resnet18 builder made ${graph.parameters} parameters, torchvision has ${RESNET18_PARAMETERS}`,
    );
  }
  return buildModel({
    graphName: 'resnet18',
    inputs: [{ name: CLASSIFIER_INPUT, type: 'float32', shape: ['N', 3, 224, 224] }],
    outputs: [{ name: CLASSIFIER_OUTPUT, type: 'float32', shape: ['N', 1000] }],
    initializers: graph.initializers,
    nodes: graph.nodes,
  });
}
