import { apgdCe, apgdDlr, apgdTargeted } from './apgd';
import { autoAttack } from './ensemble';
import { hopSkipJump } from './hop-skip-jump';
import { fgsm, pgd } from './pgd';
import { simba } from './simba';
import { square } from './square';
import type { AttackModule } from './types';

/**
 * Every attack that ships with Tempest, like BUILTIN_PERTURBATIONS: name, semantic version (part
 * of every cell key), zod params, access vector. The param schemas are specific per module, so
 * the list is typed on the common interface.
 */
export const BUILTIN_ATTACKS: readonly AttackModule[] = [
  fgsm,
  pgd,
  apgdCe,
  apgdDlr,
  apgdTargeted,
  square,
  simba,
  hopSkipJump,
  autoAttack,
];

export function findAttack(name: string): AttackModule | undefined {
  return BUILTIN_ATTACKS.find((module) => module.name === name);
}
