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
  const spec = loadSpecText(text, specPath);
  const baseDir = dirname(absolute);
  expandConditions(spec, await loadCatalog(spec, baseDir));
  return { spec, specText: text, specSource: basename(absolute), baseDir };
}
