import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBenchmarkInput } from '../cli/spec-file';
import { runBenchmarkLocally } from '../client/local-run';
import { loadDataset } from '../core/data/dataset';
import { sha256Hex } from '../core/hash';
import { accuracyOf } from '../core/metrics/accuracy';
import type { BenchmarkResults } from '../core/results';
import { LocalArtifactStore } from '../core/store/local';
import { TABULAR_MODULES } from '../core/perturb/tabular/index';
import {
  buildPenguins,
  CATEGORICAL_COLUMNS,
  CSV_FILE,
  FEATURE_COLUMNS,
  LABEL_COLUMN,
  MODEL_FILE,
  type PenguinsBuild,
} from '../examples/penguins/build-penguins';

const EXAMPLES_DIR = join(__dirname, '..', 'examples');
const COMMITTED_DIR = join(EXAMPLES_DIR, 'penguins');
const SPEC_PATH = join(EXAMPLES_DIR, 'penguins-tabular.yaml');

/** What the build reported when the committed files were made. */
const REPORTED = { csvAccuracy: 332 / 333, trainAccuracy: 266 / 267, heldOutAccuracy: 1 };

function readSums(dir: string): Map<string, string> {
  const lines = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trimEnd().split('\n');
  return new Map(lines.map((line) => line.split('  ').reverse() as [string, string]));
}

describe('examples/penguins: the committed tabular example', () => {
  let outDir: string;
  let build: PenguinsBuild;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'tempest-penguins-'));
    build = await buildPenguins({ outDir });
  }, 120_000);

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('rebuilds to the exact bytes of the committed CSV and model', () => {
    const committed = readSums(COMMITTED_DIR);
    expect([...committed.keys()].sort()).toEqual([MODEL_FILE, CSV_FILE].sort());
    for (const [name, sha256] of committed) {
      expect(sha256Hex(readFileSync(join(COMMITTED_DIR, name))), `committed ${name}`).toBe(sha256);
      expect(sha256Hex(readFileSync(join(outDir, name))), `rebuilt ${name}`).toBe(sha256);
    }
    expect(readFileSync(join(outDir, 'SHA256SUMS'), 'utf8')).toBe(
      readFileSync(join(COMMITTED_DIR, 'SHA256SUMS'), 'utf8'),
    );
    expect([build.csvSha256, build.modelSha256]).toEqual([
      committed.get(CSV_FILE),
      committed.get(MODEL_FILE),
    ]);
  });

  it('writes the documented encoding: 333 complete rows, label first, codes in alphabetical order', () => {
    const lines = readFileSync(join(COMMITTED_DIR, CSV_FILE), 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe([LABEL_COLUMN, ...FEATURE_COLUMNS].join(','));
    expect(lines).toHaveLength(334);
    // The first record of the source: an Adelie (0) male (1) from Torgersen (2).
    expect(lines[1]).toBe('0,2,39.1,18.7,181,3750,1');
    const column = (index: number) => new Set(lines.slice(1).map((line) => line.split(',')[index]));
    expect(column(0)).toEqual(new Set(['0', '1', '2']));
    expect(column(1)).toEqual(new Set(['0', '1', '2']));
    expect(column(6)).toEqual(new Set(['0', '1']));
    expect(build).toMatchObject({ rows: 333, trainRows: 267, heldOutRows: 66, ...REPORTED });
  });

  it('pins the committed model in the example spec', () => {
    const spec = parseYaml(readFileSync(SPEC_PATH, 'utf8')) as {
      models: { path: string; sha256: string }[];
      dataset: { path: string; categorical: string[] };
      perturbations: { module: string }[];
    };
    expect(spec.models).toEqual([
      { id: 'logreg', path: `penguins/${MODEL_FILE}`, sha256: readSums(COMMITTED_DIR).get(MODEL_FILE) },
    ]);
    expect(spec.dataset.path).toBe(`penguins/${CSV_FILE}`);
    expect(spec.dataset.categorical).toEqual([...CATEGORICAL_COLUMNS]);
    expect(spec.perturbations.map((p) => p.module)).toEqual(TABULAR_MODULES.map((module) => module.name));
  });

  it('classifies the CSV in onnxruntime-node with the reported accuracy', async () => {
    const { data } = await loadDataset(
      {
        source: 'csv',
        path: `penguins/${CSV_FILE}`,
        labelColumn: LABEL_COLUMN,
        categorical: [...CATEGORICAL_COLUMNS],
      },
      EXAMPLES_DIR,
    );
    const session = await ort.InferenceSession.create(readFileSync(join(COMMITTED_DIR, MODEL_FILE)), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    try {
      const { logits } = await session.run({
        input: new ort.Tensor('float32', data.inputs.data, [...data.inputs.dims]),
      });
      expect(logits.dims).toEqual([333, 3]);
      const { accuracy } = accuracyOf(logits.data as Float32Array, 3, data.labels);
      expect(accuracy).toBe(REPORTED.csvAccuracy);
      expect(accuracy).toBeGreaterThan(0.95);
    } finally {
      await session.release();
    }
  });

  it('runs the example spec end to end: clean plus every tabular module at severities 1-5', async () => {
    const storeDir = mkdtempSync(join(tmpdir(), 'tempest-penguins-store-'));
    try {
      const outcome = await runBenchmarkLocally(
        await readBenchmarkInput(SPEC_PATH),
        new LocalArtifactStore(storeDir),
      );
      expect(outcome.status).toBe('completed');
      // Subgroup metrics by the spec's group column, with the change under each perturbation.
      const results = JSON.parse(
        new TextDecoder().decode(await new LocalArtifactStore(storeDir).getBlob(outcome.results!.sha256)),
      ) as BenchmarkResults;
      const cells = results.evaluation!.cells;
      expect(cells[0].subgroups.source).toBe('sex');
      expect(cells[0].subgroups.groups.map((group) => group.name)).toEqual(['sex=0', 'sex=1']);
      expect(cells[0].subgroups.groups.reduce((sum, group) => sum + group.count, 0)).toBe(333);
      expect(cells.filter((cell) => cell.versusClean?.worstGroupAccuracyChange !== undefined)).toHaveLength(
        50,
      );
      // clean once; 4 stochastic modules x 5 severities x 2 seeds; 2 deterministic ones x 5 severities.
      expect(outcome.cells).toEqual({ total: 51, done: 51, cached: 0 });
      const accuracy = new Map(outcome.summary.map((row) => [row.condition, row.accuracy]));
      expect(accuracy.get('clean')).toBe(REPORTED.csvAccuracy);
      for (const module of TABULAR_MODULES) {
        for (let severity = 1; severity <= 5; severity++) {
          expect(accuracy.get(`${module.name}/s${severity}`), `${module.name}/s${severity}`).toBeDefined();
        }
        // The strongest severity must hurt a model this accurate, or the module does nothing.
        expect(accuracy.get(`${module.name}/s5`)!, module.name).toBeLessThan(REPORTED.csvAccuracy);
      }
    } finally {
      rmSync(storeDir, { recursive: true, force: true });
    }
  });
});
