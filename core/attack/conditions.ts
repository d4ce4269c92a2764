import type { BenchmarkSpec } from '../../spec';
import { formatPath } from '../../spec';
import { TempestInputError } from '../errors';
import { hashOf } from '../hash';
import { attackByName } from './registry';
import type { AccessVector, AttackModule, AttackNorm } from './types';

/** What an attack cell does to its inputs: the attack module at one epsilon. */
export interface AttackTransform {
  readonly kind: 'attack';
  readonly module: string;
  readonly version: string;
  readonly access: AccessVector;
  readonly norm: AttackNorm;
  readonly epsilon: number;
  /** Validated parameters, epsilon included. */
  readonly params: Record<string, unknown>;
}

export interface AttackCondition {
  readonly label: string;
  readonly transform: AttackTransform;
  readonly stochastic: boolean;
}

/**
 * Whether an attack draws random numbers: then each replicate seed is its own cell (random starts
 * and proposals differ), and the robust accuracy across seeds is the per-sample worst case.
 */
export function attackIsStochastic(module: AttackModule, params: Record<string, unknown>): boolean {
  if (module.name === 'fgsm' || module.name === 'carlini-wagner-l2') return false;
  if (module.name === 'pgd') return params.randomStart !== false;
  return true;
}

function validated(module: AttackModule, params: Record<string, unknown>, where: readonly PropertyKey[]) {
  const parsed = module.params.safeParse(params);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path[0] === 'epsilon' ? [...where, 'epsilons'] : [...where, 'params', ...issue.path];
      return `${formatPath(path)}: ${issue.message}`;
    });
    throw new TempestInputError(
      `invalid parameters for attack ${module.name}: ${problems.join('; ')}`,
      'InvalidModuleParams',
    );
  }
  return parsed.data;
}

/** The attack conditions of a spec: one per (attack entry, epsilon), parameters validated up front. */
export function attackConditions(
  spec: BenchmarkSpec,
  existingLabels: ReadonlySet<string>,
): AttackCondition[] {
  const conditions: AttackCondition[] = [];
  const labels = new Set(existingLabels);
  spec.attacks.forEach((entry, index) => {
    const where = ['attacks', index];
    let module: AttackModule;
    try {
      module = attackByName(entry.attack);
    } catch (error) {
      throw new TempestInputError(
        `${formatPath([...where, 'attack'])}: ${(error as Error).message}`,
        'UnknownModule',
      );
    }
    if (entry.version !== undefined && entry.version !== module.version) {
      throw new TempestInputError(
        `${formatPath([...where, 'version'])}: the spec pins ${module.name}@${entry.version} but this Tempest has ${module.name}@${module.version}`,
        'ModuleVersionMismatch',
      );
    }
    for (const epsilon of entry.epsilons) {
      const params = validated(module, { ...entry.params, epsilon }, where);
      const norm = (params.norm as AttackNorm | undefined) ?? 'l2';
      let label = `${module.name}/${norm}/eps=${epsilon}`;
      // Two entries of one attack and norm with other parameters get the parameters' hash.
      if (labels.has(label)) label = `${label}/params-${hashOf(params).slice(0, 8)}`;
      if (labels.has(label)) {
        throw new TempestInputError(
          `${formatPath(where)}: condition ${label} is listed twice`,
          'DuplicateCondition',
        );
      }
      labels.add(label);
      conditions.push({
        label,
        stochastic: attackIsStochastic(module, params),
        transform: {
          kind: 'attack',
          module: module.name,
          version: module.version,
          access: module.access,
          norm,
          epsilon,
          params,
        },
      });
    }
  });
  return conditions;
}
