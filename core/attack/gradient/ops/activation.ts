import type { GraphEmitter } from '../emitter';
import type { ForwardNode } from '../graph';
import type { GradientRule } from './rule';

/** An op whose gradient is dy times a slope computed from its node (input, output, attributes). */
function slopeRule(slope: (emit: GraphEmitter, node: ForwardNode) => string): GradientRule {
  return {
    differentiableInputs: [0],
    backward: ({ emit, node }, dy) => [emit.mul(dy, slope(emit, node))],
  };
}

/** 0 < v < 1, as 0/1 floats: where a hard sigmoid is on its linear part (strictly, as torch). */
function insideUnit(emit: GraphEmitter, v: string): string {
  return emit.op('And', [
    emit.op('Greater', [v, emit.floatScalar(0)]),
    emit.op('Less', [v, emit.floatScalar(1)]),
  ]);
}

/** HardSigmoid y = max(0, min(1, alpha x + beta)): slope alpha where 0 < y < 1, else 0. */
const hardSigmoid = slopeRule((emit, node) =>
  emit.maskOrZero(insideUnit(emit, node.outputs[0]), emit.floatScalar(node.float('alpha', 0.2))),
);

/**
 * HardSwish y = x h(x), h = HardSigmoid(x; 1/6, 1/2): slope h + x / 6 where h is on its linear
 * part (x / 3 + 1/2 on (-3, 3)), 0 below -3 and 1 above 3.
 */
const hardSwish = slopeRule((emit, node) => {
  const x = node.input(0);
  const h = emit.op('HardSigmoid', [x], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
  return emit.add(h, emit.maskOrZero(insideUnit(emit, h), emit.mul(x, emit.floatScalar(1 / 6))));
});

/** erf'(x) = 2 / sqrt(pi) exp(-x^2). */
const erf = slopeRule((emit, node) => {
  const x = node.input(0);
  return emit.mul(emit.floatScalar(2 / Math.sqrt(Math.PI)), emit.op('Exp', [emit.neg(emit.mul(x, x))]));
});

const GELU_TANH_CUBIC = 0.044715;

/**
 * Gelu (opset 20). Exact: y = x Phi(x), slope Phi(x) + x phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2
 * and phi(x) = exp(-x^2 / 2) / sqrt(2 pi). Tanh approximation: y = x (1 + tanh u) / 2 with
 * u = k (x + c x^3), k = sqrt(2 / pi), slope (1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2, t = tanh u.
 */
const gelu = slopeRule((emit, node) => {
  const x = node.input(0);
  const approximate = node.string('approximate', 'none');
  if (approximate !== 'none' && approximate !== 'tanh')
    throw node.unsupported(`approximate = '${approximate}'`);
  const half = emit.floatScalar(0.5);
  const one = emit.floatScalar(1);
  const square = emit.mul(x, x);
  if (approximate === 'tanh') {
    const k = emit.floatScalar(Math.sqrt(2 / Math.PI));
    const c = emit.floatScalar(GELU_TANH_CUBIC);
    const t = emit.op('Tanh', [emit.mul(k, emit.add(x, emit.mul(c, emit.mul(square, x))))]);
    const inner = emit.mul(k, emit.add(one, emit.mul(emit.floatScalar(3 * GELU_TANH_CUBIC), square)));
    const outer = emit.mul(emit.mul(half, x), emit.mul(emit.sub(one, emit.mul(t, t)), inner));
    return emit.add(emit.mul(half, emit.add(one, t)), outer);
  }
  const cdf = emit.mul(half, emit.add(one, emit.op('Erf', [emit.mul(x, emit.floatScalar(Math.SQRT1_2))])));
  const pdf = emit.mul(
    emit.floatScalar(1 / Math.sqrt(2 * Math.PI)),
    emit.op('Exp', [emit.mul(emit.floatScalar(-0.5), square)]),
  );
  return emit.add(cdf, emit.mul(x, pdf));
});

export const activationRules: Readonly<Record<string, GradientRule>> = {
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Erf: erf,
  Gelu: gelu,
};
