import { activationRules } from './activation';
import { convRules } from './conv';
import { elementwiseRules } from './elementwise';
import { linearRules } from './linear';
import { mathRules } from './math';
import { normalizationRules } from './normalization';
import { poolRules } from './pool';
import { reduceRules } from './reduce';
import type { GradientRule } from './rule';
import { selectRules } from './select';
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
    ...activationRules,
    ...mathRules,
    ...reduceRules,
    ...selectRules,
  }),
);

/**
 * Ops whose outputs carry no gradient even when fed by the input (shapes, constants, booleans):
 * they may sit on the input's path, e.g. Shape -> Concat -> Reshape in exported Flatten layers,
 * or a comparison that feeds Where's condition.
 */
export const NON_DIFFERENTIABLE_OPS: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'Constant',
  'ConstantOfShape',
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
]);

export type { GradientRule } from './rule';
