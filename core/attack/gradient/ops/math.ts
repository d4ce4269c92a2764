import { FLOAT } from '../emitter';
import { unbroadcast } from './broadcast';
import { gradientsFor, type BackwardContext, type GradientRule } from './rule';

/** An op whose only gradient is through input 0, computed from dy and the forward tensors. */
function unary(gradient: (context: BackwardContext, dy: string) => string): GradientRule {
  return { differentiableInputs: [0], backward: (context, dy) => [gradient(context, dy)] };
}

const neg = unary(({ emit }, dy) => emit.neg(dy));

// From the forward output where it is at hand: exp' = y, sqrt' = 1 / (2 y), (1/x)' = -y^2.
const exp = unary(({ emit, node }, dy) => emit.mul(dy, node.outputs[0]));

const sqrt = unary(({ emit, node }, dy) => emit.div(dy, emit.add(node.outputs[0], node.outputs[0])));

const reciprocal = unary(({ emit, node }, dy) => {
  const y = node.outputs[0];
  return emit.neg(emit.mul(dy, emit.mul(y, y)));
});

const log = unary(({ emit, node }, dy) => emit.div(dy, node.input(0)));

// The subgradient 0 at x = 0 (Sign(0) = 0), as every framework uses.
const abs = unary(({ emit, node }, dy) => emit.mul(dy, emit.op('Sign', [node.input(0)])));

/** Cast between float32 tensors is the identity; other casts leave float32 and are refused. */
const cast = unary(({ node }, dy) => {
  if (node.int('to', 0) !== (FLOAT as number))
    throw node.unsupported('a cast to a type other than float32 on the input path');
  return dy;
});

/**
 * Pow y = x^p with an exponent that does not depend on the input (x^2 of a decomposed LayerNorm,
 * x^0.5): dx = dy p x^(p - 1), the exponent cast to float32 (Pow allows integer exponents).
 */
const pow: GradientRule = {
  differentiableInputs: [0, 1],
  backward(context, dy) {
    const { emit, node, needs } = context;
    if (needs(1)) throw node.unsupported('an exponent that depends on the input');
    const exponent = emit.cast(node.input(1), FLOAT);
    const slope = emit.mul(
      exponent,
      emit.op('Pow', [node.input(0), emit.sub(exponent, emit.floatScalar(1))]),
    );
    return [unbroadcast(context, emit.mul(dy, slope), 0)];
  },
};

/** Where(c, a, b): dy flows to a where c holds and to b elsewhere, each summed back to its shape. */
const where: GradientRule = {
  differentiableInputs: [1, 2],
  backward(context, dy) {
    const { emit, node } = context;
    const condition = node.input(0);
    return gradientsFor(context, 3, (index) => {
      const chosen = index === 1 ? condition : emit.op('Not', [condition]);
      return unbroadcast(context, emit.maskOrZero(chosen, dy), index);
    });
  },
};

export const mathRules: Readonly<Record<string, GradientRule>> = {
  Neg: neg,
  Exp: exp,
  Sqrt: sqrt,
  Reciprocal: reciprocal,
  Log: log,
  Abs: abs,
  Cast: cast,
  Pow: pow,
  Where: where,
};
