import { onnx } from 'onnx-proto';
import { PRODUCER_NAME } from '../../model/onnx-builder';
import { isTargeted } from '../losses';
import type { AttackLoss } from '../types';
import { GraphEmitter } from './emitter';
import { GradientModelError, UnsupportedOpError } from './errors';
import { decodeForwardGraph, GRADIENT_MIN_OPSET, type ForwardGraph } from './forward';
import { ForwardNode } from './graph';
import { emitLossHead } from './loss-head';
import { GRADIENT_RULES, NON_DIFFERENTIABLE_OPS, type GradientRule } from './ops';
import type { BackwardContext } from './ops/rule';

/** Names of the gradient model's extra inputs and its outputs. */
export const GRADIENT_MODEL_NAMES = {
  labels: 'labels',
  targets: 'targets',
  loss: 'loss',
  gradient: 'gradient',
  logits: 'logits',
} as const;

/**
 * Written as the gradient model's producer_version. Bump it whenever the emitted graph changes:
 * together with the model bytes and the loss it determines the gradient bytes (a cell key for a
 * white-box attack should include it).
 */
export const GRADIENT_BUILDER_VERSION = 'onnx-gradient/1';

const DataType = onnx.TensorProto.DataType;

/** What the model's output is: logits (the default), probabilities or log-probabilities. */
export type ScoreKind = 'logits' | 'probabilities' | 'log-probabilities';

export interface GradientModelOptions {
  /**
   * What the selected output holds. The losses act on logits z (softmax(z) = the probabilities):
   * log-probabilities are such logits as they are; probabilities get a Log first (floored at the
   * smallest normal float32, so an underflowed 0 gives a finite loss with zero gradient there).
   * The gradient model's `logits` output is then those log-probabilities.
   */
  readonly scores?: ScoreKind;
}

/** Below this a probability is treated as this (float32's smallest normal number). */
export const PROBABILITY_FLOOR = 1.1754943508222875e-38;

/**
 * Build the gradient model of a classifier: the forward graph plus the loss head and a reverse-mode
 * backward pass, all standard ai.onnx ops that onnxruntime's CPU provider runs. Inputs: the
 * model's input, `labels` (int64 [N]) and for targeted losses `targets` (int64 [N]); outputs:
 * `loss` [N], `gradient` (d loss_i / d input_i, the input's shape) and `logits`. Samples are
 * independent, so the gradient of the summed loss is every sample's own gradient.
 *
 * Deterministic: the same model bytes, loss and options always give the same output bytes.
 */
export function buildGradientModel(
  modelBytes: Uint8Array,
  loss: AttackLoss,
  options: GradientModelOptions = {},
): Uint8Array {
  const decoded = decodeForwardGraph(modelBytes);
  const scores = options.scores ?? 'logits';
  // With probabilities, `logits` becomes a new tensor (their log): the forward one must not keep the name.
  reserveOutputNames(decoded, scores !== 'probabilities');
  const opset = Math.max(decoded.opset, GRADIENT_MIN_OPSET);
  const emit = new GraphEmitter(allNames(decoded), opset);
  const forward = scores === 'probabilities' ? withLogOfProbabilities(decoded, emit) : decoded;
  const requiresGradient = tensorsRequiringGradient(forward);
  if (!requiresGradient.has(forward.logits.name)) {
    throw new GradientModelError(`the logits '${forward.logits.name}' do not depend on the input`);
  }

  const names = GRADIENT_MODEL_NAMES;
  const head = emitLossHead(
    emit,
    forward.logits.name,
    names.labels,
    isTargeted(loss) ? names.targets : undefined,
    loss,
  );
  const inputGradient = emitBackward(forward, emit, requiresGradient, head.logitsGradient);
  const outputs: onnx.INodeProto[] = [
    identity(head.loss, names.loss),
    identity(inputGradient, names.gradient),
    ...(forward.logits.name === names.logits ? [] : [identity(forward.logits.name, names.logits)]),
  ];
  const nodes = [...forward.nodes.map((node) => node.proto), ...emit.nodes, ...outputs];
  const used = new Set(nodes.flatMap((node) => node.input ?? []));
  const batch = forward.input.type?.tensorType?.shape?.dim?.[0]?.dimParam || 'N';
  const int64Vector = (name: string) => valueInfo(name, DataType.INT64, [batch]);

  // The decoded model is this call's own copy: reuse it (metadata, other domains) in place.
  const model = forward.model;
  model.producerName = PRODUCER_NAME;
  model.producerVersion = GRADIENT_BUILDER_VERSION;
  model.irVersion = Math.max(Number(forward.model.irVersion), 7);
  model.opsetImport = [
    ...forward.model.opsetImport.filter((entry) => entry.domain && entry.domain !== 'ai.onnx'),
    onnx.OperatorSetIdProto.fromObject({ domain: '', version: opset }),
  ];
  model.graph = onnx.GraphProto.fromObject({
    name: `${forward.graph.name || 'model'}/gradient/${loss}`,
    node: nodes,
    initializer: [
      ...forward.graph.initializer.filter((tensor) => used.has(tensor.name ?? '')),
      ...emit.initializers,
    ],
    input: [
      forward.input,
      int64Vector(names.labels),
      ...(isTargeted(loss) ? [int64Vector(names.targets)] : []),
    ],
    output: [
      valueInfo(names.loss, DataType.FLOAT, [batch]),
      { ...forward.input, name: names.gradient },
      { ...forward.logits, name: names.logits },
    ],
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Tensors that depend on the input through differentiable inputs, failing on unsupported ops. */
function tensorsRequiringGradient(forward: ForwardGraph): Set<string> {
  const requires = new Set([forward.input.name]);
  for (const node of forward.nodes) {
    if (NON_DIFFERENTIABLE_OPS.has(node.opType) || !node.inputs.some((input) => requires.has(input)))
      continue;
    const rule = ruleFor(node);
    if (differentiableInputs(rule, node).some((index) => requires.has(node.input(index)))) {
      for (const output of rule.multipleOutputs ? node.outputs.filter(Boolean) : [node.outputs[0]]) {
        requires.add(output);
      }
    }
  }
  return requires;
}

function ruleFor(node: ForwardNode): GradientRule {
  const rule =
    node.proto.domain && node.proto.domain !== 'ai.onnx' ? undefined : GRADIENT_RULES.get(node.opType);
  if (!rule) throw new UnsupportedOpError(node.opType, node.name);
  if (node.opType === 'Dropout' && node.input(2)) throw node.unsupported('a training_mode input');
  return rule;
}

function differentiableInputs(rule: GradientRule, node: ForwardNode): number[] {
  return rule.differentiableInputs === 'all' ? [...node.inputs.keys()] : [...rule.differentiableInputs];
}

/**
 * Reverse-mode pass: nodes in reverse topological order, so every consumer of a tensor has added
 * its contribution before the tensor's producer reads the sum. Returns the input's gradient.
 */
function emitBackward(
  forward: ForwardGraph,
  emit: GraphEmitter,
  requiresGradient: ReadonlySet<string>,
  logitsGradient: string,
): string {
  const contributions = new Map<string, string[]>([[forward.logits.name, [logitsGradient]]]);
  const gradientOf = (name: string) => {
    const terms = contributions.get(name);
    return terms ? emit.sum(terms) : undefined;
  };
  for (const node of [...forward.nodes].reverse()) {
    if (NON_DIFFERENTIABLE_OPS.has(node.opType) || !requiresGradient.has(node.outputs[0])) continue;
    const rule = ruleFor(node);
    // Each output's summed gradient, computed (emitted) at most once.
    const outputGradients = new Map<number, string | undefined>();
    const outputGradient = (index: number) => {
      if (!outputGradients.has(index)) outputGradients.set(index, gradientOf(node.outputs[index] ?? ''));
      return outputGradients.get(index);
    };
    const firstGradient = outputGradient(0);
    if (!firstGradient && !(rule.multipleOutputs && node.outputs.some((_, index) => outputGradient(index)))) {
      continue;
    }
    const differentiable = new Set(differentiableInputs(rule, node));
    const context: BackwardContext = {
      emit,
      node,
      shapes: forward.shapes,
      needs: (index) => differentiable.has(index) && requiresGradient.has(node.input(index)),
      forwardOutput: (index) => {
        const outputs = (node.proto.output ??= []);
        while (outputs.length <= index) outputs.push('');
        if (!outputs[index]) outputs[index] = emit.fresh(`${node.opType}.output${index}`);
        return outputs[index];
      },
      outputGradient,
    };
    rule.backward(context, firstGradient ?? '').forEach((gradient, index) => {
      if (gradient === undefined || !context.needs(index)) return;
      const name = node.input(index);
      contributions.set(name, [...(contributions.get(name) ?? []), gradient]);
    });
  }
  const inputGradient = gradientOf(forward.input.name);
  if (!inputGradient) throw new GradientModelError('no gradient reaches the input');
  return inputGradient;
}

/**
 * The forward graph with Log(max(p, floor)) after its probabilities p (as a Clip, whose gradient
 * rule passes dy where p >= floor): the losses then act on log-probabilities.
 */
function withLogOfProbabilities(forward: ForwardGraph, emit: GraphEmitter): ForwardGraph {
  const probabilities = forward.logits.name;
  const floored = emit.fresh('probabilities.floored');
  const logs = emit.fresh('log-probabilities');
  const clip = new ForwardNode(
    {
      opType: 'Clip',
      name: floored,
      input: [probabilities, emit.floatScalar(PROBABILITY_FLOOR)],
      output: [floored],
    },
    forward.graph.node.length,
  );
  const log = new ForwardNode(
    { opType: 'Log', name: logs, input: [floored], output: [logs] },
    forward.graph.node.length + 1,
  );
  for (const node of [clip, log]) forward.shapes.infer(node);
  return { ...forward, nodes: [...forward.nodes, clip, log], logits: { ...forward.logits, name: logs } };
}

/**
 * The gradient model's interface names must not collide with the forward graph's tensors: rename
 * any forward tensor called like them (except logits that are already called `logits`).
 */
function reserveOutputNames(forward: ForwardGraph, logitsMayKeepName: boolean): void {
  const names = GRADIENT_MODEL_NAMES;
  const taken = allNames(forward);
  for (const reserved of [names.labels, names.targets, names.loss, names.gradient, names.logits]) {
    const keep = logitsMayKeepName && reserved === names.logits && forward.logits.name === names.logits;
    if (!taken.has(reserved) || keep) continue;
    let renamed = `${reserved}/forward`;
    while (taken.has(renamed)) renamed += "'";
    renameTensor(forward, reserved, renamed);
  }
}

function renameTensor(forward: ForwardGraph, from: string, to: string): void {
  const rename = (names: string[] | null | undefined) =>
    names?.forEach((name, i) => name === from && (names[i] = to));
  for (const node of forward.graph.node) {
    rename(node.input);
    rename(node.output);
  }
  for (const value of [...forward.graph.input, ...forward.graph.output, ...forward.graph.initializer]) {
    if (value.name === from) value.name = to;
  }
  const shape = forward.shapes.get(from);
  forward.shapes.set(to, shape);
}

function allNames(forward: ForwardGraph): Set<string> {
  const names = new Set<string>();
  for (const node of forward.graph.node)
    for (const name of [...(node.input ?? []), ...(node.output ?? [])]) names.add(name);
  for (const value of [...forward.graph.input, ...forward.graph.output, ...forward.graph.initializer]) {
    names.add(value.name ?? '');
  }
  return names;
}

function identity(from: string, to: string): onnx.INodeProto {
  return { opType: 'Identity', name: to, input: [from], output: [to] };
}

function valueInfo(
  name: string,
  elemType: onnx.TensorProto.DataType,
  dims: readonly string[],
): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((dimParam) => ({ dimParam })) } } } };
}
