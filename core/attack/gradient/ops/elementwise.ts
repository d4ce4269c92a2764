import { unbroadcast } from './broadcast';
import { gradientsFor, type BackwardContext, type GradientRule } from './rule';

/** Arithmetic with numpy broadcasting: each operand's gradient is summed back to its own shape. */
function binary(partial: (context: BackwardContext, dy: string, index: number) => string): GradientRule {
  return {
    differentiableInputs: [0, 1],
    backward: (context, dy) =>
      gradientsFor(context, 2, (index) => unbroadcast(context, partial(context, dy, index), index)),
  };
}

const add = binary((_, dy) => dy);

const sub = binary(({ emit }, dy, index) => (index === 0 ? dy : emit.neg(dy)));

const mul = binary(({ emit, node }, dy, index) => emit.mul(dy, node.input(1 - index)));

// y = a / b: dy/da = 1 / b and dy/db = -a / b^2 = -y / b (reusing the forward quotient).
const div = binary(({ emit, node }, dy, index) => {
  const b = node.input(1);
  return index === 0 ? emit.div(dy, b) : emit.neg(emit.div(emit.mul(dy, node.outputs[0]), b));
});

/** An op whose only gradient is through input 0, computed from dy and the forward tensors. */
function unary(gradient: (context: BackwardContext, dy: string) => string): GradientRule {
  return { differentiableInputs: [0], backward: (context, dy) => [gradient(context, dy)] };
}

const passThrough = unary((_, dy) => dy);

// The subgradient 0 at x = 0, as every framework uses.
const relu = unary(({ emit, node }, dy) =>
  emit.maskOrZero(emit.op('Greater', [node.input(0), emit.floatScalar(0)]), dy),
);

const leakyRelu = unary(({ emit, node }, dy) => {
  const slope = emit.floatScalar(node.float('alpha', 0.01));
  return emit.op('Where', [
    emit.op('Greater', [node.input(0), emit.floatScalar(0)]),
    dy,
    emit.mul(dy, slope),
  ]);
});

// From the forward output: sigmoid' = y (1 - y), tanh' = 1 - y^2.
const sigmoid = unary(({ emit, node }, dy) => {
  const y = node.outputs[0];
  return emit.mul(dy, emit.mul(y, emit.sub(emit.floatScalar(1), y)));
});

const tanh = unary(({ emit, node }, dy) => {
  const y = node.outputs[0];
  return emit.mul(dy, emit.sub(emit.floatScalar(1), emit.mul(y, y)));
});

// Clip passes the gradient where min <= x <= max (bounds included, where Clip is the identity).
const clip = unary(({ emit, node }, dy) => {
  const x = node.input(0);
  const inside = [
    node.input(1) ? emit.op('GreaterOrEqual', [x, node.input(1)]) : undefined,
    node.input(2) ? emit.op('LessOrEqual', [x, node.input(2)]) : undefined,
  ].filter((condition): condition is string => condition !== undefined);
  if (inside.length === 0) return dy;
  return emit.maskOrZero(inside.length === 2 ? emit.op('And', inside) : inside[0], dy);
});

export const elementwiseRules: Readonly<Record<string, GradientRule>> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Relu: relu,
  LeakyRelu: leakyRelu,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Clip: clip,
  Identity: passThrough,
  // Inference-mode Dropout is the identity (the builder refuses training mode).
  Dropout: passThrough,
};
