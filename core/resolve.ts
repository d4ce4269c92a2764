import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve as resolvePath } from 'node:path';
import type { BenchmarkSpec } from '../spec';
import { loadDataset, resolveDataPath } from './data/dataset';
import { encodeNpy } from './data/npy';
import { TempestInputError } from './errors';
import { sha256Hex } from './hash';
import { PROBABILITY_SUM_TOLERANCE } from './metrics/classification';
import { adaptModel, type OutputKind } from './model/adapter';
import { RUNTIME_ID, type LoadedModel, type ModelRunner } from './model/runner';
import {
  dataIdentity,
  expandCells,
  expandConditions,
  moduleIdsOf,
  specHash,
  type BenchmarkPlan,
  type PlannedDataset,
  type PlannedModel,
} from './plan';
import { loadCatalog } from './perturb/catalog';
import { putCanonicalJson } from './store/json';
import { MEDIA_TYPES, type ArtifactRef, type ArtifactStore } from './store/types';
import { sliceSamples, type LabeledData } from './tensor/tensor';

export function threadSettingsOf(spec: BenchmarkSpec) {
  return { intraOpThreads: spec.execution.intraOpThreads, interOpThreads: spec.execution.interOpThreads };
}

/**
 * Read, hash (checking pins), adapt (see core/model/adapter.ts), load in ORT and store every model
 * of the spec. The adapted bytes are what workers load and what cell keys name; the file's own
 * hash stays the pin and is recorded beside it.
 */
async function resolveModels(
  spec: BenchmarkSpec,
  baseDir: string,
  store: ArtifactStore,
  runner: ModelRunner,
  sampleDims: readonly number[],
): Promise<{ models: PlannedModel[]; sessions: LoadedModel[] }> {
  const models: PlannedModel[] = [];
  const sessions: LoadedModel[] = [];
  for (const [index, model] of spec.models.entries()) {
    const path = resolveDataPath(baseDir, model.path);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new TempestInputError(
        `models[${index}].path: cannot read model "${model.id}" at ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        'ModelNotFound',
      );
    }
    const sha256 = sha256Hex(bytes);
    if (model.sha256 && model.sha256 !== sha256) {
      throw new TempestInputError(
        `models[${index}].sha256: model "${model.id}" at ${path} has sha256 ${sha256}, the spec pins ${model.sha256}`,
        'ModelHashMismatch',
      );
    }
    const adapted = adaptModel(bytes, {
      label: path,
      where: `models[${index}]`,
      spec: model,
      preprocessing: spec.preprocessing,
      sampleDims,
      readExternal: (location) => readExternalData(path, location, `models[${index}]`),
    });
    sessions.push(await runner.load(adapted.sha256, async () => adapted.bytes, `"${model.id}" (${path})`));
    const blob = await store.putBlob(adapted.bytes, MEDIA_TYPES.onnx);
    const declaresIo =
      model.input !== undefined ||
      model.output !== undefined ||
      model.outputKind !== undefined ||
      model.classNames !== undefined;
    models.push({
      id: model.id,
      sha256: adapted.sha256,
      blob,
      sourcePath: model.path,
      // Only for adapted models or declared I/O, so that the plans of other models stay byte-identical.
      ...(adapted.changed ? { sourceSha256: sha256 } : {}),
      ...(adapted.changed || declaresIo ? { io: adapted.io } : {}),
    });
  }
  return { models, sessions };
}

/** External-data files live beside the model; a location that leaves the model's folder is refused. */
export function readExternalData(modelPath: string, location: string, where: string): Uint8Array {
  const folder = dirname(modelPath);
  const path = resolvePath(folder, location);
  const inside = relative(folder, path);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new TempestInputError(
      `${where}.path: ${modelPath} names the external-data file "${location}", outside the model's folder`,
      'PathEscapes',
    );
  }
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TempestInputError(
      `${where}.path: ${modelPath} keeps weights in "${location}", which cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); ` +
        'copy the external-data file next to the model',
      'ModelNotFound',
    );
  }
}

/**
 * A declared output kind must fit what the model emits: probabilities are rows of non-negative
 * values summing to 1, log-probabilities rows whose exponentials do.
 */
function checkDeclaredKind(
  scores: Float32Array,
  classes: number,
  kind: OutputKind | undefined,
  where: string,
  id: string,
) {
  if (kind === undefined || kind === 'logits') return;
  const rows = scores.length / classes;
  for (let row = 0; row < rows; row++) {
    const values = Array.from(scores.subarray(row * classes, (row + 1) * classes));
    const probabilities = kind === 'probabilities' ? values : values.map(Math.exp);
    const sum = probabilities.reduce((total, value) => total + value, 0);
    if (
      probabilities.some((value) => value < 0 || Number.isNaN(value)) ||
      Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE
    ) {
      throw new TempestInputError(
        `${where}.outputKind: model "${id}" is declared to give ${kind}, but its scores for sample ${row} are [${values
          .slice(0, 6)
          .map((value) => value.toPrecision(4))
          .join(', ')}${values.length > 6 ? ', ...' : ''}]` +
          `${kind === 'probabilities' ? '' : ' whose exponentials'} summing to ${sum.toPrecision(6)}; set ${where}.outputKind: logits (or leave it out to detect it)`,
        'OutputKindMismatch',
      );
    }
  }
}

/** Run one sample through every model: a shape mismatch or an impossible label stops the run before any cell. */
async function checkModelsFitData(
  sessions: readonly LoadedModel[],
  models: readonly PlannedModel[],
  data: LabeledData,
  runner: ModelRunner,
): Promise<void> {
  const maxLabel = data.labels.reduce((max, label) => Math.max(max, label), 0);
  const firstSample = sliceSamples(data.inputs, 0, 1);
  for (const [index, session] of sessions.entries()) {
    const { values, classes } = await runner.predictBatch(session, firstSample);
    checkDeclaredKind(values, classes, models[index].io?.outputKind, `models[${index}]`, models[index].id);
    const names = models[index].io?.classNames;
    if (names && names.length !== classes) {
      throw new TempestInputError(
        `models[${index}].classNames: ${names.length} names for the ${classes} classes model "${models[index].id}" scores`,
        'ClassNamesMismatch',
      );
    }
    if (maxLabel >= classes) {
      throw new TempestInputError(
        `model "${models[index].id}" has ${classes} outputs but the dataset has label ${maxLabel}; ` +
          `labels must be class indices below ${classes}`,
        'LabelOutOfRange',
      );
    }
  }
}

async function storeDataset(store: ArtifactStore, spec: BenchmarkSpec, baseDir: string) {
  const { data, lineage, features, groups, classes } = await loadDataset(
    spec.dataset,
    baseDir,
    spec.preprocessing,
  );
  const inputs = await store.putBlob(encodeNpy('<f4', data.inputs.dims, data.inputs.data), MEDIA_TYPES.npy);
  const labels = await store.putBlob(encodeNpy('<i4', [data.labels.length], data.labels), MEDIA_TYPES.npy);
  const dataset: PlannedDataset = {
    hash: dataIdentity(inputs, labels, features),
    inputs,
    labels,
    samples: data.labels.length,
    sampleDims: data.inputs.dims.slice(1),
    features,
    groups: groups && {
      source: groups.source,
      ids: await store.putBlob(encodeNpy('<i4', [groups.ids.length], groups.ids), MEDIA_TYPES.npy),
    },
    lineage,
    ...(classes ? { classNames: classes } : {}),
  };
  return { data, dataset };
}

/** Read the drift baseline (a run folder or its results.json) into the store, with absolute alert paths. */
async function storeDriftBaseline(
  drift: NonNullable<BenchmarkSpec['drift']>,
  baseDir: string,
  store: ArtifactStore,
): Promise<NonNullable<BenchmarkPlan['drift']>> {
  let path = resolveDataPath(baseDir, drift.baseline);
  if (!path.endsWith('.json')) path = join(path, 'results.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TempestInputError(
      `drift.baseline: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); ` +
        'name the output folder of an earlier run or its results.json',
      'DriftBaselineNotFound',
    );
  }
  const parsed = JSON.parse(text) as { apiVersion?: string; cells?: unknown };
  if (parsed.apiVersion !== 'tempest.results/v1' || !Array.isArray(parsed.cells)) {
    throw new TempestInputError(
      `drift.baseline: ${path} is not a Tempest results.json`,
      'DriftBaselineInvalid',
    );
  }
  return {
    baseline: await store.putBlob(new TextEncoder().encode(text), MEDIA_TYPES.json),
    alerts: drift.alerts && {
      file: drift.alerts.file && resolveDataPath(baseDir, drift.alerts.file),
      url: drift.alerts.url,
    },
  };
}

/**
 * The `resolve` stage: hash and store models and data, check they fit together, and expand the
 * spec into cells. The plan goes to the store; cells refer to it by its address.
 */
export async function resolveBenchmarkPlan(args: {
  spec: BenchmarkSpec;
  baseDir: string;
  store: ArtifactStore;
  runner: ModelRunner;
  onStage?: (stage: 'models' | 'dataset') => void;
}): Promise<{ plan: BenchmarkPlan; planRef: ArtifactRef }> {
  const { spec, baseDir, store, runner } = args;
  const catalog = await loadCatalog(spec, baseDir, store);
  const conditions = expandConditions(spec, catalog);
  // The data first: folding preprocessing into a model needs the samples' shape.
  const { data, dataset } = await storeDataset(store, spec, baseDir);
  args.onStage?.('dataset');
  const { models, sessions } = await resolveModels(spec, baseDir, store, runner, dataset.sampleDims);
  args.onStage?.('models');
  await checkModelsFitData(sessions, models, data, runner);
  const threads = threadSettingsOf(spec);
  const plan: BenchmarkPlan = {
    apiVersion: 'tempest.plan/v1',
    name: spec.name,
    specHash: specHash(spec),
    runtime: RUNTIME_ID,
    batchSize: spec.execution.batchSize,
    threads,
    models,
    dataset,
    modules: moduleIdsOf(conditions),
    userModules: catalog.userSources,
    seeds: spec.seeds,
    baseline: spec.baseline,
    statistics: spec.statistics,
    drift: spec.drift && (await storeDriftBaseline(spec.drift, baseDir, store)),
    recompute: spec.drift !== undefined,
    cells: expandCells(conditions, spec, models, dataset, RUNTIME_ID, threads),
  };
  return { plan, planRef: await putCanonicalJson(store, plan) };
}
