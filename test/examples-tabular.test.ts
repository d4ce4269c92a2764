import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchmarkOutcome } from '../activities/types';
import { readBenchmarkInput } from '../cli/spec-file';
import { runBenchmarkLocally } from '../client/local-run';
import { decodeNpy } from '../core/data/npy';
import { sha256Hex } from '../core/hash';
import type { BenchmarkResults, CellResult } from '../core/results';
import { LocalArtifactStore } from '../core/store/local';
import { TABULAR_MODULES } from '../core/perturb/tabular/index';
import { killSpawnedTempests, runTempest, tempDir } from './helpers/cli';

/**
 * The scikit-learn / onnxmltools example (examples/tabular-sklearn.yaml): models exported the way
 * users export them (skl2onnx with and without ZipMap, onnxmltools for LightGBM; ai.onnx.ml
 * LinearClassifier, SVMClassifier, TreeEnsembleClassifier, Scaler, Normalizer, ZipMap) run clean,
 * under tabular perturbations and under black-box attacks, with the local executor and on
 * Temporal. Accuracies are recomputed here with onnxruntime-node straight from the ONNX files,
 * and compared with what scikit-learn measured when make_models.py exported them.
 */

afterAll(killSpawnedTempests);

const EXAMPLES_DIR = join(__dirname, '..', 'examples');
const TABULAR_DIR = join(EXAMPLES_DIR, 'tabular');
const SPEC_PATH = join(EXAMPLES_DIR, 'tabular-sklearn.yaml');
const TEST_CSV = 'penguins-test.csv';

interface ReferenceModel {
  readonly file: string;
  readonly sha256: string;
  readonly input: string;
  readonly labelOutput: string;
  readonly scoreOutput: string;
  readonly zipmap: boolean;
  readonly estimator: string;
  readonly sklearnCorrect: number;
  readonly onnxruntimeCorrect: number;
}
interface Reference {
  readonly testRows: number;
  readonly features: readonly string[];
  readonly classNames: readonly string[];
  readonly models: Readonly<Record<string, ReferenceModel>>;
}

interface SpecModel {
  readonly id: string;
  readonly path: string;
  readonly sha256: string;
  readonly outputKind?: string;
}

const reference = JSON.parse(readFileSync(join(TABULAR_DIR, 'reference-accuracy.json'), 'utf8')) as Reference;
const specModels = (parseYaml(readFileSync(SPEC_PATH, 'utf8')) as { models: SpecModel[] }).models;
const MODEL_IDS = Object.keys(reference.models);
/** Models without an input gradient whatever the gradient builder covers: tree ensembles. */
const TREE_MODELS = MODEL_IDS.filter((id) =>
  /Forest|LGBM|GradientBoosting/.test(reference.models[id].estimator),
);

function readSums(dir: string): Map<string, string> {
  const lines = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trimEnd().split('\n');
  return new Map(lines.map((line) => line.split('  ').reverse() as [string, string]));
}

/** The test split as the test reads it, independently of Tempest's CSV loader: float32 features, labels. */
function readTestSplit(): { features: Float32Array; labels: Int32Array; rows: number; width: number } {
  const [header, ...lines] = readFileSync(join(TABULAR_DIR, TEST_CSV), 'utf8').trimEnd().split('\n');
  const columns = header.split(',');
  const labelIndex = columns.indexOf('species');
  const width = columns.length - 1;
  const features = new Float32Array(lines.length * width);
  const labels = new Int32Array(lines.length);
  lines.forEach((line, row) => {
    const values = line.split(',').map(Number);
    labels[row] = values[labelIndex];
    features.set(
      values.filter((_, i) => i !== labelIndex),
      row * width,
    );
  });
  return { features, labels, rows: lines.length, width };
}

function argmaxRows(scores: Float32Array, classes: number): Int32Array {
  const rows = scores.length / classes;
  return Int32Array.from({ length: rows }, (_, row) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[row * classes + c] > scores[row * classes + best]) best = c;
    return best;
  });
}

const correctCount = (predicted: ArrayLike<number | bigint>, labels: Int32Array): number =>
  labels.reduce((sum, label, row) => sum + (Number(predicted[row]) === label ? 1 : 0), 0);

/**
 * Each model's predictions straight from its ONNX file in onnxruntime-node: the int64 label output
 * always, and the argmax of the score tensor where the graph outputs one (onnxruntime-node cannot
 * return ZipMap's seq(map) output, so ZipMap models are checked through their label).
 */
async function directPredictions(model: ReferenceModel, features: Float32Array, rows: number, width: number) {
  const session = await ort.InferenceSession.create(readFileSync(join(TABULAR_DIR, model.file)), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  try {
    const feeds = { [model.input]: new ort.Tensor('float32', features, [rows, width]) };
    const fetches = model.zipmap ? [model.labelOutput] : [model.labelOutput, model.scoreOutput];
    const outputs = await session.run(feeds, fetches);
    const label = outputs[model.labelOutput].data as BigInt64Array;
    const scores = model.zipmap ? undefined : (outputs[model.scoreOutput].data as Float32Array);
    return { label, scores };
  } finally {
    await session.release();
  }
}

describe('examples/tabular: the committed scikit-learn and LightGBM models', () => {
  it('match SHA256SUMS, the reference file and the pins of the example spec', () => {
    const sums = readSums(TABULAR_DIR);
    for (const [name, sha256] of sums) {
      expect(sha256Hex(readFileSync(join(TABULAR_DIR, name))), name).toBe(sha256);
    }
    expect(MODEL_IDS.length).toBeGreaterThanOrEqual(6);
    expect(specModels.map((model) => model.id).sort()).toEqual([...MODEL_IDS].sort());
    for (const model of specModels) {
      const file = reference.models[model.id].file;
      expect(model.path).toBe(`tabular/${file}`);
      expect(model.sha256, model.id).toBe(sums.get(file));
      expect(reference.models[model.id].sha256, model.id).toBe(sums.get(file));
    }
    // The kinds of model the example exists for.
    expect(MODEL_IDS.filter((id) => reference.models[id].zipmap).length).toBeGreaterThanOrEqual(2);
    expect(TREE_MODELS.length).toBeGreaterThanOrEqual(2);
  });

  it('onnxruntime-node on the ONNX files gives the accuracy scikit-learn and onnxruntime-python measured', async () => {
    const { features, labels, rows, width } = readTestSplit();
    expect(rows).toBe(reference.testRows);
    expect(width).toBe(reference.features.length);
    for (const id of MODEL_IDS) {
      const model = reference.models[id];
      const { label, scores } = await directPredictions(model, features, rows, width);
      const correct = correctCount(label, labels);
      expect(correct, `${id}: label output`).toBe(model.onnxruntimeCorrect);
      expect(correct, `${id}: versus scikit-learn`).toBe(model.sklearnCorrect);
      if (scores) {
        expect(correctCount(argmaxRows(scores, 3), labels), `${id}: argmax of ${model.scoreOutput}`).toBe(
          correct,
        );
      }
    }
  });
});

/** The clean, perturbation and attack conditions the example spec asks for, by kind. */
function specConditions(): { perturbations: string[]; blackBox: string[]; whiteBox: string[] } {
  const spec = parseYaml(readFileSync(SPEC_PATH, 'utf8')) as {
    perturbations: { module: string; severities: number[] }[];
    attacks: { attack: string; epsilons: number[]; params?: { norm?: string } }[];
  };
  const perturbations = spec.perturbations.flatMap((p) => p.severities.map((s) => `${p.module}/s${s}`));
  const attack = (names: string[]) =>
    spec.attacks
      .filter((a) => names.includes(a.attack))
      .flatMap((a) => a.epsilons.map((eps) => `${a.attack}/${a.params?.norm ?? 'linf'}/eps=${eps}`));
  return {
    perturbations,
    blackBox: attack(['square', 'simba', 'hop-skip-jump']),
    whiteBox: attack(['fgsm', 'pgd', 'apgd-ce']),
  };
}

async function readJson<T>(store: LocalArtifactStore, sha256: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await store.getBlob(sha256))) as T;
}

describe('examples/tabular-sklearn.yaml end to end', () => {
  let storeDir: string;
  let store: LocalArtifactStore;
  let outcome: BenchmarkOutcome;
  let resultsBytes: Uint8Array;
  let results: BenchmarkResults;

  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), 'tempest-tabular-store-'));
    store = new LocalArtifactStore(storeDir);
    outcome = await runBenchmarkLocally(await readBenchmarkInput(SPEC_PATH), store);
    resultsBytes = await store.getBlob(outcome.results!.sha256);
    results = JSON.parse(new TextDecoder().decode(resultsBytes)) as BenchmarkResults;
  }, 600_000);

  afterAll(() => rmSync(storeDir, { recursive: true, force: true }));

  const cellsOf = (model: string) => results.cells.filter((cell) => cell.model === model);
  const cellOf = (model: string, condition: string) => {
    const found = results.cells.filter((cell) => cell.model === model && cell.condition === condition);
    expect(found, `${model} ${condition}`).toHaveLength(1);
    return found[0];
  };

  it('loads and runs every model: clean accuracy equals onnxruntime-node on the file and scikit-learn', async () => {
    expect(outcome.status).toBe('completed');
    expect(results.models.map((model) => model.id).sort()).toEqual([...MODEL_IDS].sort());
    const { features, labels, rows, width } = readTestSplit();
    expect(results.dataset.samples).toBe(rows);
    for (const id of MODEL_IDS) {
      const { label } = await directPredictions(reference.models[id], features, rows, width);
      const direct = correctCount(label, labels) / rows;
      const clean = cellOf(id, 'clean').metrics.accuracy;
      expect(clean, `${id}: Tempest clean accuracy vs onnxruntime-node`).toBe(direct);
      expect(clean * rows, `${id}: vs scikit-learn`).toBeCloseTo(reference.models[id].sklearnCorrect, 9);
      // Tempest's scores pick the same class as the model's own label output, row by row.
      const scores = decodeNpy(await store.getBlob(cellOf(id, 'clean').logits));
      expect(scores.shape).toEqual([rows, 3]);
      const predicted = argmaxRows(Float32Array.from(scores.values), 3);
      expect(Array.from(predicted), id).toEqual(Array.from(label, Number));
    }
  });

  it('gives identical scores for the ZipMap and the zipmap=False export of the same LogisticRegression', async () => {
    const zipmap = cellsOf('logreg-zipmap');
    const tensor = cellsOf('logreg');
    expect(zipmap.map((cell) => cell.condition)).toEqual(tensor.map((cell) => cell.condition));
    for (const [index, cell] of zipmap.entries()) {
      // Same scores in every cell, clean, perturbed or attacked (the attacks see the same model).
      expect(cell.logits, cell.condition).toBe(tensor[index].logits);
    }
    // And those scores are the probabilities onnxruntime-node gives for the zipmap=False file.
    const { features, rows, width } = readTestSplit();
    const { scores } = await directPredictions(reference.models.logreg, features, rows, width);
    const stored = decodeNpy(await store.getBlob(cellOf('logreg-zipmap', 'clean').logits));
    expect(Array.from(argmaxRows(Float32Array.from(stored.values), 3))).toEqual(
      Array.from(argmaxRows(scores!, 3)),
    );
  });

  it('computes every perturbation and black-box attack cell of every model', async () => {
    const { perturbations, blackBox } = specConditions();
    expect(perturbations.length).toBe(TABULAR_MODULES.length * 3);
    expect(blackBox.length).toBeGreaterThanOrEqual(4);
    for (const id of MODEL_IDS) {
      for (const condition of perturbations) cellOf(id, condition);
      let hurt = 0;
      for (const condition of blackBox) {
        const cell = cellOf(id, condition);
        const result = await readJson<CellResult>(store, cell.result);
        expect(result.attack, `${id} ${condition}`).toBeDefined();
        const attack = result.attack!;
        expect(attack.access).not.toBe('white-box');
        expect(attack.samples).toBe(reference.testRows);
        // A black-box attack spends queries on every sample it attacks.
        expect(attack.queries.mean, `${id} ${condition}`).toBeGreaterThan(0);
        if (cell.metrics.accuracy < cellOf(id, 'clean').metrics.accuracy) hurt++;
      }
      // The largest budgets must find adversarials on every model, or the attacks do nothing.
      expect(hurt, `${id}: black-box cells below clean accuracy`).toBeGreaterThan(0);
    }
  });

  it("stores every cell's scores as the model declares them: probability rows for probability models, attacked cells too", async () => {
    for (const model of specModels) {
      for (const cell of cellsOf(model.id)) {
        const { values, shape } = decodeNpy(await store.getBlob(cell.logits));
        const rows = shape[0];
        if (model.outputKind !== 'probabilities') continue;
        for (let row = 0; row < rows; row++) {
          const probabilities = Array.from((values as Float32Array).subarray(row * 3, row * 3 + 3));
          const where = `${model.id} ${cell.condition} row ${row}`;
          expect(Math.min(...probabilities), where).toBeGreaterThanOrEqual(0);
          expect(
            probabilities.reduce((a, b) => a + b, 0),
            where,
          ).toBeCloseTo(1, 4);
        }
      }
    }
    // And the evaluation read them as the probabilities they are.
    const evaluation = results.evaluation!;
    expect(evaluation.cells.length).toBe(results.cells.length);
    for (const cell of evaluation.cells) {
      const declared = specModels.find((model) => model.id === cell.model)!.outputKind;
      expect(cell.calibration.scoreKind, `${cell.model} ${cell.condition}`).toBe(declared);
    }
  });

  it('names the classes as the spec declares them, in results.models and in the class subgroups of the report', async () => {
    for (const model of results.models) expect(model.classNames, model.id).toEqual(reference.classNames);
    for (const cell of results.evaluation!.cells) {
      expect(cell.subgroups.source).toBe('label');
      expect(cell.subgroups.groups.map((group) => group.name)).toEqual(reference.classNames);
    }
    const report = new TextDecoder().decode(await store.getBlob(outcome.report!.sha256));
    expect(report).toMatch(/\| (Adelie|Chinstrap|Gentoo) \d+\.\d+% \|/);
  });

  it('reports white-box cells of the tree ensembles and ai.onnx.ml linear models as not applicable, with the reason', () => {
    const { whiteBox } = specConditions();
    expect(whiteBox.length).toBeGreaterThan(0);
    const notApplicable = (
      results as unknown as {
        notApplicable: { model: string; condition: string; status: string; reason: string; domain: string }[];
      }
    ).notApplicable;
    for (const id of MODEL_IDS) {
      for (const condition of whiteBox) {
        const entry = notApplicable.find((cell) => cell.model === id && cell.condition === condition);
        expect(entry, `${id} ${condition}`).toBeDefined();
        expect(entry!.status).toBe('not-applicable');
        expect(entry!.domain).toBe('ai.onnx.ml');
        expect(entry!.reason).toMatch(/needs input gradients/);
        if (TREE_MODELS.includes(id)) expect(entry!.reason).toContain('TreeEnsembleClassifier');
      }
    }
  });

  it('runs on Temporal (tempest run) to the same results.json bytes', async () => {
    const home = await tempDir('tabular-temporal');
    const out = join(home, 'out');
    const run = await runTempest(['run', SPEC_PATH, '--out', out], { TEMPEST_HOME: home }, 600_000);
    expect(run.stderr).not.toMatch(/onnxruntime|ORT|Non tensor type/i);
    expect(run.code, run.stderr).toBe(0);
    const provenance = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as {
      run: { executor: string };
    };
    expect(provenance.run.executor).toBe('temporal');
    expect(Buffer.from(await readFile(join(out, 'results.json'))).equals(Buffer.from(resultsBytes))).toBe(
      true,
    );
  }, 660_000);
});

describe('bad model I/O with these models: a Tempest error naming the model, the field and what to write', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('tabular-bad');
  });

  /** A one-model spec over the example CSV, run with the local executor through the CLI. */
  async function runModel(name: string, model: string, extra = '') {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      `apiVersion: tempest/v2\nname: ${name}\n` +
        `models:\n  - { id: m, path: ${join(TABULAR_DIR, model)}${extra} }\n` +
        `dataset: { source: csv, path: ${join(TABULAR_DIR, TEST_CSV)}, labelColumn: species, categorical: [island, sex] }\n`,
    );
    return runTempest(['run', file, '--executor', 'local', '--out', join(dir, `out-${name}`)], {
      TEMPEST_HOME: dir,
    });
  }

  it('output: the int64 label output -> says it holds class labels and names the probability output', async () => {
    for (const [name, file, label, probabilities] of [
      ['label-tensor', 'logreg.onnx', 'label', 'probabilities'],
      ['label-zipmap', 'random-forest.onnx', 'output_label', 'output_probability'],
    ] as const) {
      const result = await runModel(name, file, `, output: ${label}`);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('models[0].output');
      expect(result.stderr).toContain(label);
      expect(result.stderr).toMatch(/int64/);
      expect(result.stderr).toMatch(/label/i);
      expect(result.stderr).toContain(probabilities);
      expect(result.stderr).not.toMatch(/Non tensor type|onnxruntime::/);
    }
  });

  it('output: a name the graph does not have -> lists the outputs', async () => {
    const result = await runModel('no-output', 'lightgbm.onnx', ', output: scores');
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('models[0].output');
    expect(result.stderr).toContain('scores');
    expect(result.stderr).toContain('label');
    expect(result.stderr).toContain('probabilities');
  });

  it('input: a name the graph does not have -> names the model input to write', async () => {
    const result = await runModel('no-input', 'svc.onnx', ', input: X');
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('models[0].input');
    expect(result.stderr).toContain('float_input');
  });

  it('classNames of the wrong length -> says how many classes the model scores', async () => {
    const result = await runModel('class-names', 'logreg-zipmap.onnx', ', classNames: [Adelie, Gentoo]');
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('models[0].classNames');
    expect(result.stderr).toMatch(/\b3\b/);
  });

  it('a CSV with a feature column missing -> the model input wants 6 features', async () => {
    const lines = readFileSync(join(TABULAR_DIR, TEST_CSV), 'utf8').trimEnd().split('\n');
    const dropped = lines.map((line) => line.split(',').slice(0, -1).join(',')).join('\n');
    await writeFile(join(dir, 'five-features.csv'), `${dropped}\n`);
    const file = join(dir, 'five.yaml');
    await writeFile(
      file,
      `apiVersion: tempest/v2\nname: five\nmodels:\n  - { id: m, path: ${join(TABULAR_DIR, 'random-forest.onnx')} }\n` +
        `dataset: { source: csv, path: ${join(dir, 'five-features.csv')}, labelColumn: species }\n`,
    );
    const result = await runTempest(['run', file, '--executor', 'local', '--out', join(dir, 'out-five')], {
      TEMPEST_HOME: dir,
    });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/ShapeMismatch/);
    expect(result.stderr).toContain('6');
    expect(result.stderr).toContain('[5]');
    expect(result.stderr).not.toMatch(/onnxruntime::|Got invalid dimensions/);
  });
});
