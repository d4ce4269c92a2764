import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecText, SpecError } from '../spec';
import { diffSpecs, migrateSpecText } from '../spec/tools';
import { runTempest, tempDir } from './helpers/cli';

const V1 = 'test/fixtures/specs/v1-mnist-quick.yaml';
const V2 = 'test/fixtures/specs/v2-mnist-attacks-gate.yaml';

describe('spec versions: v1 keeps parsing and migrates to v2', () => {
  it('loads a v1 spec as the current (v2) spec with empty attacks and no gate', async () => {
    const spec = loadSpecText(await readFile(V1, 'utf8'), V1);
    expect(spec.apiVersion).toBe('tempest/v2');
    expect(spec.attacks).toEqual([]);
    expect(spec.gate).toBeUndefined();
    expect(spec.perturbations[0].module).toBe('gaussian_noise');
  });

  it('migrates the text keeping comments and layout; the result means the same benchmark', async () => {
    const text = await readFile(V1, 'utf8');
    const migrated = migrateSpecText(text, V1);
    expect(migrated).toMatchObject({ from: 'tempest/v1', changed: true });
    expect(migrated.text).toContain('# The quick robustness benchmark');
    expect(migrated.text.replace('apiVersion: tempest/v2', 'apiVersion: tempest/v1')).toBe(text);
    expect(diffSpecs(loadSpecText(text, V1), loadSpecText(migrated.text, 'migrated'))).toEqual([]);
    expect(migrateSpecText(migrated.text, 'again')).toMatchObject({ changed: false });
  });

  it('reads v2 sections and names the field of a bad one', async () => {
    const text = await readFile(V2, 'utf8');
    const spec = loadSpecText(text, V2);
    expect(spec.attacks.map((attack) => attack.attack)).toEqual(['fgsm', 'square']);
    expect(spec.gate?.rules[0]).toMatchObject({ model: 'mlp', metric: 'accuracy', min: 0.8 });
    const bad = text.replace('epsilons: [0.1]', 'epsilons: []');
    expect(() => loadSpecText(bad, 'bad.yaml')).toThrow(SpecError);
    expect(() => loadSpecText(bad, 'bad.yaml')).toThrow(/attacks\[1\]\.epsilons: list at least one epsilon/);
    // v2 sections are not part of v1: a v1 spec that uses them is refused, naming the key.
    expect(() => loadSpecText(text.replace('tempest/v2', 'tempest/v1'), 'old.yaml')).toThrow(/attacks|gate/);
    expect(() => loadSpecText(text.replace('tempest/v2', 'tempest/v3'), 'new.yaml')).toThrow(
      /unknown version "tempest\/v3"; this Tempest reads tempest\/v1, tempest\/v2/,
    );
  });
});

describe('tempest spec validate | migrate | diff', () => {
  it('validates files of both versions and says when one should be migrated', async () => {
    const result = await runTempest(['spec', 'validate', V1, V2]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`ok  ${V1}: tempest/v1 (migrates to tempest/v2`);
    expect(result.stdout).toMatch(
      new RegExp(`ok {2}${V2.replace(/[.]/g, '\\.')}: tempest/v2, spec hash [0-9a-f]{12}`),
    );
  });

  it('migrates to a file and diffs by meaning: same benchmark, then one changed field', async () => {
    const dir = await tempDir('spec-tools');
    const migrated = join(dir, 'quick-v2.yaml');
    const migrate = await runTempest(['spec', 'migrate', V1, '--out', migrated]);
    expect(migrate.code).toBe(0);
    // Model paths in the fixture are relative to test/fixtures/specs; a diff does not resolve them.
    const same = await runTempest(['spec', 'diff', V1, migrated]);
    expect(same.stdout).toMatch(/same benchmark: .* have spec hash [0-9a-f]{12}/);
    expect(same.code).toBe(0);

    const changed = join(dir, 'quick-changed.yaml');
    await writeFile(
      changed,
      (await readFile(migrated, 'utf8'))
        .replace('seeds: [1, 2]', 'seeds: [1, 3]')
        .replace('batchSize: 250', 'batchSize: 100'),
    );
    const diff = await runTempest(['spec', 'diff', migrated, changed]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('~ execution.batchSize: 250 -> 100');
    expect(diff.stdout).toContain('~ seeds[1]: 2 -> 3');
    expect(diff.stdout).toMatch(/2 difference\(s\); spec hash [0-9a-f]{12} -> [0-9a-f]{12}/);
  });
});

describe('the inline gate of a v2 spec', () => {
  const spec = (min: number) => `apiVersion: tempest/v2
name: inline-gate
models:
  - { id: mlp, path: ${process.cwd()}/examples/models/mnist-mlp.onnx }
dataset: { source: builtin, name: mnist, split: test, samples: 200 }
gate:
  rules:
    - { model: mlp, condition: clean, metric: accuracy, use: lower, min: ${min} }
`;

  it('passes with exit 0 and fails with exit 1 at the end of tempest run, writing gate.md', async () => {
    const dir = await tempDir('inline-gate');
    const run = async (name: string, min: number) => {
      await writeFile(join(dir, `${name}.yaml`), spec(min));
      return runTempest(['run', join(dir, `${name}.yaml`), '--executor', 'local', '--out', join(dir, name)], {
        TEMPEST_HOME: dir,
      });
    };
    const passing = await run('pass', 0.8);
    expect(passing.stdout).toContain('## Tempest gate: PASSED');
    expect(passing.code).toBe(0);
    const failing = await run('fail', 0.99);
    expect(failing.stdout).toContain('## Tempest gate: FAILED');
    expect(failing.code).toBe(1);
    expect(await readFile(join(dir, 'fail', 'gate.md'), 'utf8')).toContain('required >= 0.99');
    expect(await readFile(join(dir, 'fail', 'SHA256SUMS'), 'utf8')).toMatch(/ {2}gate\.md\n/);
  });
});
