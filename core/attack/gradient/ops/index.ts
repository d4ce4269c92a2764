import { convRules } from './conv';
import { elementwiseRules } from './elementwise';
import { linearRules } from './linear';
import { normalizationRules } from './normalization';
import { poolRules } from './pool';
import type { GradientRule } from './rule';
import { shapeRules } from './shape';
import { softmaxRules } from './softmax';

/** Every op the gradient builder can differentiate, by ONNX op type (default domain). */
export const GRADIENT_RULES: ReadonlyMap<string, GradientRule> = new Map(
  Object.entries({
    ...elementwiseRules,
    ...linearRules,
    ...shapeRules,
    ...softmaxRules,
    ...convRules,
    ...poolRules,
    ...normalizationRules,
  }),
);

/**
 * Ops whose outputs carry no gradient even when fed by the input (shapes and constants): they may
 * sit on the input's path, e.g. Shape -> Concat -> Reshape in exported Flatten layers.
 */
export const NON_DIFFERENTIABLE_OPS: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'Constant',
  'ConstantOfShape',
]);

export type { GradientRule } from './rule';
