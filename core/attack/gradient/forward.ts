import { onnx } from 'onnx-proto';
import { encodeInitializer } from '../../model/onnx-builder';
import { GradientModelError } from './errors';
import { ForwardNode, toNumber } from './graph';
import { StaticShapes, type StaticDim } from './shapes';

/** The gradient graph needs opset 13 (ReduceSum, Squeeze, Unsqueeze and Split with input axes). */
export const GRADIENT_MIN_OPSET = 13;
/** Oldest opset whose models are upgraded to 13; older ones changed too many op semantics. */
const OLDEST_OPSET = 7;

/** A decoded classifier: its one float input, the nodes that compute its logits, in order. */
export interface ForwardGraph {
  readonly model: onnx.ModelProto;
  readonly graph: onnx.GraphProto;
  readonly opset: number;
  readonly input: onnx.IValueInfoProto & { name: string };
  readonly logits: onnx.IValueInfoProto & { name: string };
  /** The nodes the logits depend on, topologically sorted (ties in original order). */
  readonly nodes: readonly ForwardNode[];
  /** Names of initializers (constants), including any the opset upgrade added. */
  readonly initializers: ReadonlySet<string>;
  readonly shapes: StaticShapes;
}

export function decodeForwardGraph(modelBytes: Uint8Array): ForwardGraph {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(modelBytes);
  } catch (error) {
    throw new GradientModelError(`the bytes are not an ONNX model (${(error as Error).message})`);
  }
  const graph = model.graph as onnx.GraphProto | null | undefined;
  if (!graph) throw new GradientModelError('the model has no graph');
  const opsetImport = model.opsetImport.find((entry) => !entry.domain || entry.domain === 'ai.onnx');
  const opset = opsetImport?.version ? toNumber(opsetImport.version) : 0;
  if (opset < OLDEST_OPSET) throw new GradientModelError(`opset ${opset} is older than ${OLDEST_OPSET}`);

  const initializers = new Set(graph.initializer.map((tensor) => tensor.name ?? ''));
  const inputs = graph.input.filter((value) => !initializers.has(value.name ?? ''));
  if (inputs.length !== 1) {
    throw new GradientModelError(`expected one input, the model has ${inputs.length}`);
  }
  const input = inputs[0] as onnx.IValueInfoProto & { name: string };
  if (input.type?.tensorType?.elemType !== onnx.TensorProto.DataType.FLOAT) {
    throw new GradientModelError(`input '${input.name}' is not a float32 tensor`);
  }
  const logits = graph.output[0] as (onnx.IValueInfoProto & { name: string }) | undefined;
  if (!logits) throw new GradientModelError('the model has no outputs');

  const nodes = sortNeededNodes(
    graph.node.map((proto, index) => new ForwardNode(proto, index)),
    new Set([input.name, ...initializers, '']),
    logits.name,
  );
  const shapes = new StaticShapes(int64Constants(graph, nodes));
  shapes.set(input.name, inputShape(input));
  for (const tensor of graph.initializer) shapes.set(tensor.name ?? '', (tensor.dims ?? []).map(toNumber));
  for (const node of nodes) {
    if (opset < GRADIENT_MIN_OPSET) {
      for (const added of upgradeNode(node, shapes)) {
        graph.initializer.push(onnx.TensorProto.fromObject(added));
        initializers.add(added.name ?? '');
        shapes.set(added.name ?? '', added.dims?.map(toNumber));
      }
    }
    shapes.infer(node);
  }
  return { model, graph, opset, input, logits, nodes, initializers, shapes };
}

/** Nodes the target depends on, in a topological order that keeps the original order where free. */
function sortNeededNodes(all: readonly ForwardNode[], available: Set<string>, target: string): ForwardNode[] {
  const producer = new Map<string, ForwardNode>();
  for (const node of all) for (const output of node.outputs) if (output) producer.set(output, node);
  const needed = new Set<ForwardNode>();
  const stack = [target];
  while (stack.length > 0) {
    const node = producer.get(stack.pop()!);
    if (!node || needed.has(node)) continue;
    needed.add(node);
    stack.push(...node.inputs);
  }
  const pending = all.filter((node) => needed.has(node));
  const ordered: ForwardNode[] = [];
  while (pending.length > 0) {
    const ready = pending.findIndex((node) => node.inputs.every((name) => available.has(name)));
    if (ready < 0) {
      const stuck = pending[0];
      const missing = stuck.inputs.find((name) => !available.has(name));
      throw new GradientModelError(
        `node '${stuck.name}' (${stuck.opType}) reads '${missing}', which nothing computes`,
      );
    }
    const [node] = pending.splice(ready, 1);
    node.outputs.forEach((output) => available.add(output));
    ordered.push(node);
  }
  if (!available.has(target)) throw new GradientModelError(`nothing computes the output '${target}'`);
  return ordered;
}

function inputShape(input: onnx.IValueInfoProto): StaticDim[] | undefined {
  const dims = input.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  // An unnamed run-time dim is still one fixed size: give it its own symbol.
  return dims.map((dim, axis) => {
    const value = dim.dimValue ? toNumber(dim.dimValue) : 0;
    return value > 0 ? value : dim.dimParam || `?${axis}`;
  });
}

/** Small int64 constants (Reshape targets) from initializers and Constant nodes. */
function int64Constants(graph: onnx.GraphProto, nodes: readonly ForwardNode[]): Map<string, number[]> {
  const constants = new Map<string, number[]>();
  const add = (name: string, tensor: onnx.ITensorProto | null | undefined) => {
    const values = tensor ? int64Values(tensor) : undefined;
    if (values) constants.set(name, values);
  };
  for (const tensor of graph.initializer) add(tensor.name ?? '', tensor);
  for (const node of nodes) {
    if (node.opType === 'Constant') {
      add(node.outputs[0], node.proto.attribute?.find((attribute) => attribute.name === 'value')?.t);
    }
  }
  return constants;
}

function int64Values(tensor: onnx.ITensorProto): number[] | undefined {
  if (tensor.dataType !== onnx.TensorProto.DataType.INT64) return undefined;
  if (tensor.rawData && tensor.rawData.length > 0) {
    const view = new DataView(tensor.rawData.buffer, tensor.rawData.byteOffset, tensor.rawData.byteLength);
    return Array.from({ length: view.byteLength / 8 }, (_, index) =>
      Number(view.getBigInt64(index * 8, true)),
    );
  }
  return (tensor.int64Data ?? []).map(toNumber);
}

/**
 * Rewrite a node of an opset-7..12 model so that it means the same at opset 13, where the
 * gradient graph lives: attributes that became inputs, and Softmax's changed axis semantics.
 * Returns the constants it introduced.
 */
function upgradeNode(node: ForwardNode, shapes: StaticShapes): onnx.ITensorProto[] {
  const proto = node.proto;
  const dropAttributes = (...names: string[]) => {
    proto.attribute = (proto.attribute ?? []).filter((attribute) => !names.includes(attribute.name ?? ''));
  };
  const constantInput = (name: string, dims: number[], data: Float32Array | BigInt64Array) => {
    const tensorName = `${node.name}/${name}/opset13`;
    return { name: tensorName, proto: encodeInitializer({ name: tensorName, dims, data }) };
  };
  const pending: onnx.ITensorProto[] = [];
  switch (node.opType) {
    case 'Softmax':
    case 'LogSoftmax': {
      // Before 13, the input was flattened to 2-D at `axis` (default 1): the same as opset 13's
      // per-axis softmax only when that axis is the last one.
      const rank = shapes.rank(node.input(0));
      const axis = node.int('axis', 1);
      if (rank === undefined || (axis !== -1 && axis !== rank - 1)) {
        throw node.unsupported(
          `opset < 13 ${node.opType} over axis ${axis} of a tensor of rank ${rank ?? 'unknown'}`,
        );
      }
      dropAttributes('axis');
      proto.attribute!.push({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 });
      break;
    }
    case 'Clip':
      if (node.hasAttribute('min') || node.hasAttribute('max')) {
        const bounds = [
          constantInput('min', [], Float32Array.of(node.float('min', -3.4028234663852886e38))),
          constantInput('max', [], Float32Array.of(node.float('max', 3.4028234663852886e38))),
        ];
        proto.input = [node.input(0), ...bounds.map((bound) => bound.name)];
        pending.push(...bounds.map((bound) => bound.proto));
        dropAttributes('min', 'max');
      }
      break;
    case 'Squeeze':
    case 'Unsqueeze': {
      const axes = node.ints('axes');
      if (axes) {
        const constant = constantInput('axes', [axes.length], BigInt64Array.from(axes, BigInt));
        proto.input = [node.input(0), constant.name];
        pending.push(constant.proto);
        dropAttributes('axes');
      }
      break;
    }
    case 'Dropout':
      if (node.outputs.length > 1 && node.outputs[1]) throw node.unsupported('the dropout mask is used');
      proto.opType = 'Identity';
      proto.input = [node.input(0)];
      proto.attribute = [];
      break;
    case 'BatchNormalization':
      if (node.int('spatial', 1) !== 1) throw node.unsupported('spatial = 0');
      if (node.outputs.filter(Boolean).length > 1) throw node.unsupported('training-mode outputs');
      dropAttributes('spatial', 'is_test', 'consumed_inputs');
      break;
    case 'Gemm':
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      dropAttributes('broadcast', 'axis');
      break;
  }
  return pending;
}
