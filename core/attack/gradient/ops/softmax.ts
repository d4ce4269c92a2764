import type { GradientRule } from './rule';

/** Softmax along `axis` (opset 13 semantics; the builder upgrades older models): dx = y (dy - sum(dy y)). */
const softmax: GradientRule = {
  differentiableInputs: [0],
  backward({ emit, node }, dy) {
    const y = node.outputs[0];
    const dot = emit.reduceSum(emit.mul(dy, y), [node.int('axis', -1)], true);
    return [emit.mul(y, emit.sub(dy, dot))];
  },
};

/** LogSoftmax: dx = dy - softmax(x) sum(dy), with softmax(x) = exp(y). */
const logSoftmax: GradientRule = {
  differentiableInputs: [0],
  backward({ emit, node }, dy) {
    const total = emit.reduceSum(dy, [node.int('axis', -1)], true);
    return [emit.sub(dy, emit.mul(emit.op('Exp', [node.outputs[0]]), total))];
  },
};

export const softmaxRules: Readonly<Record<string, GradientRule>> = {
  Softmax: softmax,
  LogSoftmax: logSoftmax,
};
