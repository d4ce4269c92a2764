import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { BenchmarkInput } from '../activities/types';
import { loadCatalog } from '../core/perturb/catalog';
import { expandConditions } from '../core/plan';
import { loadSpecText, SpecError, type BenchmarkSpec } from '../spec';
import type { Condition } from '../core/plan';

/**
 * `serving.conditions` names conditions the sweep defines; checked here so that a typo fails
 * before the sweep, not after it. Attacks are not batch functions of the inputs, so they cannot be
 * replayed at other batch sizes.
 */
function checkServingConditions(spec: BenchmarkSpec, conditions: readonly Condition[], label: string): void {
  const replayable = new Set([
    'clean',
    '*',
    ...conditions.filter((c) => c.transform.kind === 'perturbation').map((c) => c.label),
  ]);
  const problems = (spec.serving?.conditions ?? []).flatMap((condition, index) =>
    replayable.has(condition)
      ? []
      : [
          {
            path: `serving.conditions[${index}]`,
            message: `"${condition}" is not a clean or perturbed condition of this spec (attacks cannot be replayed at other batch sizes)`,
          },
        ],
  );
  if (problems.length > 0) throw new SpecError(label, problems);
}

/**
 * Read and fully check a spec file before anything starts: schema, module names, module
 * parameters. Relative paths inside it are resolved against the spec file's folder.
 */
export async function readBenchmarkInput(specPath: string): Promise<BenchmarkInput> {
  const absolute = resolve(specPath);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new SpecError(specPath, [
      {
        path: '(file)',
        message: `cannot read ${absolute}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      },
    ]);
  }
  return benchmarkInputFromText(text, basename(absolute), dirname(absolute), specPath);
}

/**
 * The same full checks for a spec that arrives as text (the HTTP API): relative paths inside it
 * are resolved against `baseDir`. `source` names it in the provenance, `label` in error messages.
 */
export async function benchmarkInputFromText(
  text: string,
  source: string,
  baseDir: string,
  label: string = source,
): Promise<BenchmarkInput> {
  const spec = loadSpecText(text, label);
  const conditions = expandConditions(spec, await loadCatalog(spec, baseDir));
  checkServingConditions(spec, conditions, label);
  return { spec, specText: text, specSource: source, baseDir };
}
