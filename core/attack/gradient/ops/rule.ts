import type { GraphEmitter } from '../emitter';
import type { ForwardNode } from '../graph';
import type { StaticShapes } from '../shapes';

/** What a gradient rule sees of the graph while it emits the backward nodes of one forward node. */
export interface BackwardContext {
  readonly emit: GraphEmitter;
  readonly node: ForwardNode;
  readonly shapes: StaticShapes;
  /** Whether forward input `index` depends on the model input, i.e. needs a gradient. */
  readonly needs: (index: number) => boolean;
  /**
   * Name of forward output `index`; an optional output the model left out (MaxPool's Indices) is
   * added to the forward node, so the backward pass reuses the forward computation.
   */
  readonly forwardOutput: (index: number) => string;
  /**
   * The summed gradient of forward output `index`, or undefined where nothing downstream uses it.
   * Rules of ops with several differentiable outputs (Split) read their gradients here.
   */
  readonly outputGradient: (index: number) => string | undefined;
}

/** Reverse-mode rule of one op: input gradients from the gradient of output 0. */
export interface GradientRule {
  /** Inputs a gradient flows through; the others (shapes, bounds, statistics) act as constants. */
  readonly differentiableInputs: 'all' | readonly number[];
  /**
   * Every output carries a gradient (Split), not only output 0; `backward` then gets output 0's
   * gradient or '' when only other outputs are used, and reads the others by outputGradient.
   */
  readonly multipleOutputs?: true;
  /** One entry per forward input: its gradient, or undefined where `needs` is false. */
  backward(context: BackwardContext, outputGradient: string): readonly (string | undefined)[];
}

/** Gradients only for the inputs that need them, computed lazily. */
export function gradientsFor(
  context: BackwardContext,
  count: number,
  gradientOf: (index: number) => string,
): (string | undefined)[] {
  return Array.from({ length: count }, (_, index) => (context.needs(index) ? gradientOf(index) : undefined));
}
