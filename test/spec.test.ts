import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TempestInputError } from '../core/errors';
import { expandConditions } from '../core/plan';
import { loadSpecText, SpecError } from '../spec';

const minimal = `
apiVersion: tempest/v1
name: t
models: [{ id: m, path: m.onnx }]
dataset: { source: builtin, name: mnist }
`;

function problemsOf(text: string) {
  try {
    loadSpecText(text, 'test.yaml');
  } catch (error) {
    if (error instanceof SpecError) return error.problems;
    throw error;
  }
  throw new Error('spec was accepted');
}

describe('spec v1', () => {
  it('accepts a minimal spec and fills documented defaults', () => {
    const spec = loadSpecText(minimal, 'test.yaml');
    expect(spec.clean).toBe(true);
    expect(spec.seeds).toEqual([0]);
    expect(spec.execution).toEqual({
      concurrency: 4,
      batchSize: 250,
      intraOpThreads: 1,
      interOpThreads: 1,
      heartbeatTimeoutSeconds: 30,
      cellTimeoutSeconds: 1800,
    });
    expect(spec.dataset).toEqual({ source: 'builtin', name: 'mnist', split: 'test' });
  });

  it('accepts JSON as well as YAML, with the same meaning', () => {
    const json = JSON.stringify({
      apiVersion: 'tempest/v1',
      name: 't',
      models: [{ id: 'm', path: 'm.onnx' }],
      dataset: { source: 'builtin', name: 'mnist' },
    });
    expect(loadSpecText(json, 'test.json')).toEqual(loadSpecText(minimal, 'test.yaml'));
  });

  it('parses the shipped quick example', () => {
    const text = readFileSync(join(__dirname, '..', 'examples', 'mnist-quick.yaml'), 'utf8');
    const spec = loadSpecText(text, 'mnist-quick.yaml');
    expect(spec.models.map((model) => model.id)).toEqual(['mlp', 'cnn']);
    expect(expandConditions(spec).map((condition) => condition.label)).toEqual([
      'clean',
      'gaussian_noise/s1',
      'gaussian_noise/s3',
      'gaussian_noise/s5',
    ]);
  });

  it('names the path and problem of a wrong field', () => {
    expect(problemsOf(minimal.replace('path: m.onnx', 'path: 42'))).toEqual([
      { path: 'models[0].path', message: expect.stringContaining('string') as string },
    ]);
    const problems = problemsOf(`${minimal}execution: { concurrency: 0 }\n`);
    expect(problems[0].path).toBe('execution.concurrency');
    expect(problems[0].message).toMatch(/>=\s*1/);
  });

  it('rejects unknown keys (typos must not become silent defaults)', () => {
    const problems = problemsOf(`${minimal}seed: [1]\n`);
    expect(problems[0].message).toMatch(/seed/);
  });

  it('rejects duplicate model ids, duplicate seeds and an empty benchmark', () => {
    expect(
      problemsOf(
        minimal.replace('[{ id: m, path: m.onnx }]', '[{ id: m, path: a.onnx }, { id: m, path: b.onnx }]'),
      ),
    ).toEqual([{ path: 'models[1].id', message: 'duplicate model id "m"' }]);
    expect(problemsOf(`${minimal}seeds: [1, 1]\n`)[0].path).toBe('seeds');
    expect(problemsOf(`${minimal}clean: false\n`)[0]).toEqual({
      path: 'perturbations',
      message: 'nothing to evaluate: set clean: true or list at least one perturbation',
    });
  });

  it('explains a missing or unknown apiVersion', () => {
    expect(problemsOf('name: t\n')[0].path).toBe('apiVersion');
    expect(problemsOf(minimal.replace('tempest/v1', 'tempest/v9'))[0].message).toMatch(
      /unknown version "tempest\/v9"/,
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('apiVersion: tempest/v1\nmodels: [\n');
    expect(problems[0].path).toMatch(/syntax, line \d+/);
  });

  it('checks module names, pinned versions and parameters before anything runs', () => {
    const withPerturbation = (entry: string) =>
      loadSpecText(`${minimal}perturbations:\n  - ${entry}\n`, 't.yaml');
    expect(() => expandConditions(withPerturbation('{ module: fog_of_war }'))).toThrow(
      /perturbations\[0\]\.module: unknown perturbation module "fog_of_war"; available: gaussian_noise/,
    );
    expect(() => expandConditions(withPerturbation('{ module: gaussian_noise, version: 0.9.0 }'))).toThrow(
      /pins gaussian_noise@0.9.0 but this Tempest has gaussian_noise@1.1.0/,
    );
    expect(() =>
      expandConditions(withPerturbation('{ module: gaussian_noise, params: { sigma: -1 } }')),
    ).toThrow(/perturbations\[0\]\.params\.sigma/);
    expect(() =>
      expandConditions(withPerturbation('{ module: gaussian_noise, params: { sigma: -1 } }')),
    ).toThrow(TempestInputError);
  });

  it('expands severities to the published ImageNet-C parameters', () => {
    const spec = loadSpecText(`${minimal}perturbations:\n  - { module: gaussian_noise }\n`, 't.yaml');
    const sigmas = expandConditions(spec)
      .filter((condition) => condition.transform.kind === 'perturbation')
      .map((condition) =>
        condition.transform.kind === 'perturbation' ? condition.transform.params.sigma : null,
      );
    expect(sigmas).toEqual([0.08, 0.12, 0.18, 0.26, 0.38]);
  });

  it('expands the imagenet-c shorthand into the 15 benchmark corruptions (or all 19), with exclusions', () => {
    const labels = (corruptions: string) =>
      expandConditions(loadSpecText(`${minimal}clean: false\ncorruptions: ${corruptions}\n`, 't.yaml')).map(
        (condition) => condition.label,
      );
    expect(labels('imagenet-c')).toHaveLength(15 * 5);
    expect(labels('imagenet-c-all')).toHaveLength(19 * 5);
    const some = labels('{ suite: imagenet-c, severities: [2], exclude: [frost, fog] }');
    expect(some).toHaveLength(13);
    expect(some).toContain('jpeg_compression/s2');
    expect(some).not.toContain('frost/s2');
    expect(() => labels('{ suite: imagenet-c, exclude: [sunburn] }')).toThrow(
      /corruptions.exclude: "sunburn" is not in the imagenet-c suite/,
    );
  });

  it('crosses a parameter grid with the severities, one condition per combination', () => {
    const spec = loadSpecText(
      `${minimal}clean: false\nperturbations:\n  - { module: gaussian_noise, severities: [1, 2], grid: { sigma: [0.05, 0.5] } }\n`,
      't.yaml',
    );
    const conditions = expandConditions(spec);
    expect(conditions.map((condition) => condition.label)).toEqual([
      'gaussian_noise/s1/sigma=0.05',
      'gaussian_noise/s1/sigma=0.5',
      'gaussian_noise/s2/sigma=0.05',
      'gaussian_noise/s2/sigma=0.5',
    ]);
    // The grid value overrides the severity's published parameter.
    expect(conditions[1].transform).toMatchObject({ severity: 1, params: { sigma: 0.5 } });
  });

  it('requires the CE baseline to be one of the models', () => {
    expect(problemsOf(`${minimal}baseline: alexnet\n`)).toEqual([
      { path: 'baseline', message: 'baseline must be the id of one of the models' },
    ]);
    expect(loadSpecText(`${minimal}baseline: m\n`, 't.yaml').baseline).toBe('m');
  });
});
