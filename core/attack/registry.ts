import { TempestInputError } from '../errors';
import { apgdCe, apgdDlr, apgdTargeted } from './apgd';
import { carliniWagnerL2 } from './carlini-wagner';
import { autoAttack } from './ensemble';
import { hopSkipJump } from './hop-skip-jump';
import { fgsm, pgd } from './pgd';
import { simba } from './simba';
import { square } from './square';
import type { AttackModule } from './types';

/**
 * Every attack that ships with Tempest, like BUILTIN_PERTURBATIONS: name, semantic version (part
 * of every cell key), zod params, access vector.
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
  carliniWagnerL2,
  autoAttack,
];

/** The built-in attack of that name; an unknown name is the user's error, with the known names. */
export function attackByName(name: string): AttackModule {
  const found = BUILTIN_ATTACKS.find((module) => module.name === name);
  if (!found) {
    throw new TempestInputError(
      `unknown attack "${name}"; built-in attacks: ${BUILTIN_ATTACKS.map((module) => module.name).join(', ')}`,
      'UnknownModule',
    );
  }
  return found;
}
