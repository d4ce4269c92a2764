import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { BenchmarkInput } from '../activities/types';
import { loadCatalog } from '../core/perturb/catalog';
import { expandConditions } from '../core/plan';
import { loadSpecText, SpecError } from '../spec';

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
  expandConditions(spec, await loadCatalog(spec, baseDir));
  return { spec, specText: text, specSource: source, baseDir };
}
