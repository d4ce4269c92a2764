import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchmarkOutcome } from '../activities/types';
import { readBenchmarkInput } from '../cli/spec-file';
import { runBenchmarkLocally } from '../client/local-run';
import { loadDataset } from '../core/data/dataset';
import { sha256Hex } from '../core/hash';
import type { ProvenanceRecord } from '../core/provenance/record';
import type { BenchmarkResults } from '../core/results';
import { LocalArtifactStore } from '../core/store/local';
import { argmaxRows } from '../core/tensor/tensor';

const EXAMPLES = join(__dirname, '..', 'examples');

interface TrainingReport {
  readonly sha256: string;
  readonly classes: string[];
  readonly testSamples: number;
  readonly testAccuracy: number;
  readonly testPredictions: number[];
}

describe('example: torchvision mobilenet_v3_small (torch.onnx) on an image folder of JPEG photo crops', () => {
  it('loads the test folder as the training script did and the model agrees with its own test predictions', async () => {
    const { spec, baseDir } = await readBenchmarkInput(join(EXAMPLES, 'images-mobilenet.yaml'));
    const report = JSON.parse(
      await readFile(join(EXAMPLES, 'images', 'mobilenet-training.json'), 'utf8'),
    ) as TrainingReport;
    const modelBytes = await readFile(join(baseDir, spec.models[0].path));
    expect(sha256Hex(modelBytes)).toBe(report.sha256);

    const loaded = await loadDataset(spec.dataset, baseDir, spec.preprocessing);
    expect(loaded.classes).toEqual(report.classes);
    expect(loaded.data.inputs.dims).toEqual([report.testSamples, 3, 64, 64]);

    // Normalize here by hand, as the training script's torchvision transform did, and run the
    // export directly in onnxruntime: an independent check of data order, geometry and decoding.
    const { mean, std } = spec.preprocessing!;
    const plane = 64 * 64;
    const normalized = Float32Array.from(loaded.data.inputs.data, (value, index) => {
      const channel = Math.floor(index / plane) % 3;
      return (value - mean![channel]) / std![channel];
    });
    const session = await ort.InferenceSession.create(modelBytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    try {
      const output = await session.run({
        image: new ort.Tensor('float32', normalized, [report.testSamples, 3, 64, 64]),
      });
      const logits = output.logits.data as Float32Array;
      const predictions = argmaxRows(logits, report.testSamples, report.classes.length);
      const agree = report.testPredictions.filter((label, index) => predictions[index] === label).length;
      // sharp (libvips) and PIL decode JPEG and resize within 2 intensity levels of each other,
      // which can move a sample whose two best logits are nearly tied; all but a few must agree.
      expect(agree).toBeGreaterThanOrEqual(report.testSamples - 3);
      const correct = Array.from(predictions).filter(
        (label, index) => label === loaded.data.labels[index],
      ).length;
      expect(Math.abs(correct / report.testSamples - report.testAccuracy)).toBeLessThanOrEqual(
        3 / report.testSamples,
      );
      // Far above the 1-in-8 of guessing: the example model learned something real.
      expect(correct / report.testSamples).toBeGreaterThan(0.4);
    } finally {
      await session.release();
    }
  });
});

describe('examples/images-mobilenet.yaml end to end (local executor)', () => {
  let storeDir: string;
  let store: LocalArtifactStore;
  let outcome: BenchmarkOutcome;
  let results: BenchmarkResults;
  let report: TrainingReport;

  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), 'tempest-images-store-'));
    store = new LocalArtifactStore(storeDir);
    report = JSON.parse(
      await readFile(join(EXAMPLES, 'images', 'mobilenet-training.json'), 'utf8'),
    ) as TrainingReport;
    outcome = await runBenchmarkLocally(
      await readBenchmarkInput(join(EXAMPLES, 'images-mobilenet.yaml')),
      store,
    );
    results = JSON.parse(
      new TextDecoder().decode(await store.getBlob(outcome.results!.sha256)),
    ) as BenchmarkResults;
  }, 600_000);

  afterAll(() => rmSync(storeDir, { recursive: true, force: true }));

  const accuracyOf = (condition: string) => {
    const found = results.cells.filter((cell) => cell.condition === condition);
    expect(found, condition).toHaveLength(1);
    return found[0].metrics.accuracy;
  };

  it('computes every cell: clean, 5 corruptions x 3 severities, FGSM, PGD and Square', () => {
    expect(outcome.status).toBe('completed');
    expect(results.cells).toHaveLength(1 + 5 * 3 + 3 + 2 + 1);
    expect(results.notApplicable ?? []).toEqual([]);
    // The folded normalization gives the model what the training script's transform gave it:
    // clean accuracy within a few near-tied samples of the training report's (see above).
    expect(Math.abs(accuracyOf('clean') - report.testAccuracy)).toBeLessThanOrEqual(3 / report.testSamples);
  });

  it('perturbs and attacks in pixel space: accuracy falls with severity and epsilon, PGD at most FGSM', () => {
    const clean = accuracyOf('clean');
    expect(accuracyOf('gaussian_noise/s5')).toBeLessThan(clean);
    expect(accuracyOf('gaussian_noise/s5')).toBeLessThanOrEqual(accuracyOf('gaussian_noise/s1'));
    const fgsm = [0.00392, 0.00784, 0.01569].map((eps) => accuracyOf(`fgsm/linf/eps=${eps}`));
    expect(fgsm[0]).toBeLessThan(clean);
    expect(fgsm[2]).toBeLessThanOrEqual(fgsm[0]);
    expect(accuracyOf('pgd/linf/eps=0.01569')).toBeLessThanOrEqual(fgsm[2]);
    const squareCell = results.cells.find((cell) => cell.condition.startsWith('square/'));
    expect(squareCell!.metrics.accuracy).toBeLessThanOrEqual(clean);
  });

  it('names the classes after the image subfolders, in results and in the class subgroups', () => {
    expect(results.dataset.classNames).toEqual(report.classes);
    for (const cell of results.evaluation!.cells) {
      expect(cell.subgroups.groups.map((group) => group.name)).toEqual(report.classes);
    }
  });

  it('records the file hash and the folded preprocessing in the provenance record', async () => {
    const record = JSON.parse(
      new TextDecoder().decode(await store.getBlob(outcome.provenance!.sha256)),
    ) as ProvenanceRecord;
    const [model] = record.models;
    expect(model.fileSha256).toBe(report.sha256);
    expect(model.sha256).not.toBe(report.sha256);
    expect(model.io?.adaptations.join('; ')).toContain(
      'preprocessing folded into the graph: pixels [0, 1] NCHW -> (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]',
    );
    expect(record.spec.text).toContain('preprocessing:');
  });
});
