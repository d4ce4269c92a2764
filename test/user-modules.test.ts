import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBenchmarkInput } from '../cli/spec-file';
import { runBenchmarkLocally } from '../client/local-run';
import { TempestInputError } from '../core/errors';
import { loadCatalog } from '../core/perturb/catalog';
import type { BenchmarkPlan } from '../core/plan';
import type { BenchmarkResults } from '../core/results';
import { getJson } from '../core/store/json';
import { LocalArtifactStore } from '../core/store/local';
import { REPO_ROOT, repoTempDir, tempDir } from './helpers/cli';
import { writeExampleSpec } from './helpers/temporal';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'modules');

describe('user perturbation modules', () => {
  it('load from a file named in the spec and run through the pipeline from the artifact store', async () => {
    const spec = await writeExampleSpec(
      `name: user-module
modules: [{ path: ${join(FIXTURES, 'invert.js')} }]
dataset: { source: builtin, name: mnist, split: test, samples: 100 }
perturbations:
  - { module: partial_invert, version: 1.2.0, severities: [1, 5] }
`,
    );
    const store = new LocalArtifactStore(join(await tempDir('user-module'), 'store'));
    const outcome = await runBenchmarkLocally(await readBenchmarkInput(spec), store);
    expect(outcome.status).toBe('completed');
    const plan = await getJson<BenchmarkPlan>(store, outcome.plan!.sha256);
    expect(plan.userModules).toHaveLength(1);
    expect(plan.userModules[0]).toMatchObject({ kind: 'file' });
    const results = await getJson<BenchmarkResults>(store, outcome.results!.sha256);
    const accuracy = (condition: string) =>
      results.summary.find((row) => row.model === 'mlp' && row.condition === condition)!.accuracy.mean;
    // Full inversion (strength 1) wrecks an MNIST classifier; 20% leaves it mostly working.
    expect(accuracy('partial_invert/s1')).toBeGreaterThan(accuracy('partial_invert/s5'));
    expect(accuracy('partial_invert/s5')).toBeLessThan(0.5);
  });

  it('key cells by the module code: an edited file gives new cell keys', async () => {
    const dir = await repoTempDir('user-module-edit');
    const copy = join(dir, 'invert.js');
    await copyFile(join(FIXTURES, 'invert.js'), copy);
    const catalogA = await loadCatalog({ modules: [{ path: copy }] }, dir);
    await writeFile(copy, `${await readFile(copy, 'utf8')}\n// edited\n`);
    const catalogB = await loadCatalog({ modules: [{ path: copy }] }, dir);
    expect(catalogA.origin('partial_invert')).toMatch(/^file:[0-9a-f]{64}$/);
    expect(catalogB.origin('partial_invert')).not.toBe(catalogA.origin('partial_invert'));
    expect(catalogA.origin('gaussian_noise')).toBeUndefined();
  });

  it('refuse a file that does not export modules, naming what is missing', async () => {
    const error = await loadCatalog({ modules: [{ path: 'not-a-module.js' }] }, FIXTURES).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TempestInputError);
    expect((error as Error).message).toMatch(
      /modules\[0\] \(module 0\): "half done" is not a perturbation module; missing or invalid: name .*version .*inputKind .*apply/,
    );
  });

  it('refuse missing files, missing packages and names that shadow built-ins', async () => {
    await expect(loadCatalog({ modules: [{ path: 'nope.js' }] }, FIXTURES)).rejects.toThrow(
      /modules\[0\]\.path: cannot read/,
    );
    await expect(loadCatalog({ modules: [{ package: 'no-such-tempest-plugin' }] }, FIXTURES)).rejects.toThrow(
      /"no-such-tempest-plugin" is not installed/,
    );
    const dir = await repoTempDir('shadow');
    await writeFile(
      join(dir, 'shadow.js'),
      "const { z } = require('zod'); module.exports.module = { name: 'gaussian_noise', version: '9.0.0', inputKind: 'image', stochastic: false, params: z.object({}), apply: (b) => b };",
    );
    await expect(loadCatalog({ modules: [{ path: join(dir, 'shadow.js') }] }, dir)).rejects.toThrow(
      /has the name of a built-in module; rename it/,
    );
  });
});
