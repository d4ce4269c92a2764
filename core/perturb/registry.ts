import { TempestInputError } from '../errors';
import { gaussianNoise } from './image/gaussian-noise';
import type { PerturbationModule } from './module';

const BUILTIN_PERTURBATIONS: readonly PerturbationModule[] = [gaussianNoise];

export function listPerturbations(): readonly PerturbationModule[] {
  return BUILTIN_PERTURBATIONS;
}

/** The module named in a spec, checked against the spec's version pin. */
export function findPerturbation(
  name: string,
  pinnedVersion: string | undefined,
  where: string,
): PerturbationModule {
  const module = BUILTIN_PERTURBATIONS.find((candidate) => candidate.name === name);
  if (!module) {
    throw new TempestInputError(
      `${where}: unknown perturbation module "${name}"; available: ${BUILTIN_PERTURBATIONS.map((m) => m.name).join(', ')}`,
      'UnknownModule',
    );
  }
  if (pinnedVersion !== undefined && pinnedVersion !== module.version) {
    throw new TempestInputError(
      `${where}: the spec pins ${name}@${pinnedVersion} but this Tempest has ${name}@${module.version}; ` +
        'use a Tempest release with that version or update the pin (results will differ)',
      'ModuleVersionMismatch',
    );
  }
  return module;
}
