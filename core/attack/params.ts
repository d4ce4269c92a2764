import { z } from 'zod';
import type { Tensor } from '../tensor/tensor';
import { rankedClass } from './batch';
import type { BudgetedOracle } from './oracle';

/**
 * zod pieces shared by the attack modules' parameter schemas (small composable schemas, as in the
 * spec), and the choice of target classes for targeted attacks.
 */

export const NormParam = z.enum(['linf', 'l2']);
export const EpsilonParam = z.number().nonnegative().finite();

/** The threat model every attack takes: the norm (with the attack's natural default) and eps. */
export function threatModelShape(defaultNorm: 'linf' | 'l2' = 'linf') {
  return { norm: NormParam.default(defaultNorm), epsilon: EpsilonParam };
}
/** Per-sample query budget; white-box attacks accept one too (each gradient counts one). */
export const QueryBudgetParam = z.number().int().positive();
export const LossParam = z.enum(['ce', 'dlr', 'ce-targeted', 'dlr-targeted']);

/**
 * Target of a targeted attack: the class the model ranks lowest on the clean input, the one it
 * ranks second (the easiest target), or a fixed class.
 */
export const TargetParam = z.union([z.enum(['least-likely', 'runner-up']), z.number().int().nonnegative()]);
export type TargetChoice = z.infer<typeof TargetParam>;

/**
 * Target per sample. Ranked choices need the clean logits: one query per sample, charged to the
 * attack's oracle like any other.
 */
export async function chooseTargets(
  batch: Tensor,
  oracle: BudgetedOracle,
  choice: TargetChoice,
): Promise<Int32Array> {
  const count = batch.dims[0];
  const classes = oracle.classes;
  if (typeof choice === 'number') {
    if (choice >= classes)
      throw new Error(`target class ${choice} is outside the model's ${classes} classes`);
    return new Int32Array(count).fill(choice);
  }
  const logits = await oracle.logits(
    batch,
    Array.from({ length: count }, (_, i) => i),
  );
  const rank = choice === 'runner-up' ? 2 : classes;
  return Int32Array.from({ length: count }, (_, i) => rankedClass(logits, i, classes, rank));
}
