import {
  buildModel,
  CLASSIFIER_INPUT,
  CLASSIFIER_OUTPUT,
  type InitializerSpec,
  type NodeSpec,
} from '../../core/model/onnx-builder';
import type { Layer, Parameter } from './layers';
import type { Network } from './models';

function initializer(parameter: Parameter): InitializerSpec {
  return { name: parameter.name, dims: parameter.dims, data: parameter.value };
}

function layerNode(layer: Layer, input: string, output: string): NodeSpec {
  const wiring = { name: layer.name, outputs: [output] };
  switch (layer.kind) {
    case 'dense':
      return {
        ...wiring,
        opType: 'Gemm',
        inputs: [input, layer.weight.name, layer.bias.name],
        attributes: { transB: { int: 1 } },
      };
    case 'conv2d3x3':
      return {
        ...wiring,
        opType: 'Conv',
        inputs: [input, layer.weight.name, layer.bias.name],
        attributes: {
          kernel_shape: { ints: [3, 3] },
          pads: { ints: [1, 1, 1, 1] },
          strides: { ints: [1, 1] },
        },
      };
    case 'relu':
      return { ...wiring, opType: 'Relu', inputs: [input] };
    case 'maxpool2x2':
      return {
        ...wiring,
        opType: 'MaxPool',
        inputs: [input],
        attributes: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } },
      };
    case 'flatten':
      return { ...wiring, opType: 'Flatten', inputs: [input], attributes: { axis: { int: 1 } } };
  }
}

/**
 * The network as an ONNX model: float32 "input" [N, ...inputDims] to float32 "logits"
 * [N, classes], one node per layer, the trained float32 parameters stored exactly.
 */
export function exportNetwork(network: Network): Uint8Array {
  const last = network.layers.length - 1;
  return buildModel({
    graphName: network.name,
    inputs: [{ name: CLASSIFIER_INPUT, type: 'float32', shape: ['N', ...network.inputDims] }],
    outputs: [{ name: CLASSIFIER_OUTPUT, type: 'float32', shape: ['N', network.classes] }],
    initializers: network.layers.flatMap((layer) => layer.parameters.map(initializer)),
    nodes: network.layers.map((layer, index) =>
      layerNode(
        layer,
        index === 0 ? CLASSIFIER_INPUT : network.layers[index - 1].name,
        index === last ? CLASSIFIER_OUTPUT : layer.name,
      ),
    ),
  });
}
