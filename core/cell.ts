import type { FeatureInfo } from './data/dataset';
import { encodeNpy } from './data/npy';
import type { DatasetProfile } from './data/profile';
import { ArtifactCorruptedError, ArtifactNotFoundError, TempestInputError } from './errors';
import { accuracyOf, type AccuracyMetrics } from './metrics/accuracy';
import type { BatchTransform, LoadedModel, ModelRunner } from './model/runner';
import type { ModuleCatalog } from './perturb/catalog';
import { randomnessScope, scoreKindOf, type BenchmarkPlan, type PlannedCell } from './plan';
import type { BenchmarkResources } from './resources';
import type { CellResult, ComputedCellResult, NotApplicableCellResult } from './results';
import { BoundedCache, putCanonicalJson } from './store/json';
import { MEDIA_TYPES, type ArtifactRef, type ArtifactStore } from './store/types';
import { deriveKey, sampleStream } from './rng/keyed';
import { canonicalJson, sha256Hex } from './hash';
import type { LabeledData } from './tensor/tensor';
import {
  attackApplicability,
  gradientGap,
  type GradientGap,
  type NotApplicable,
} from './attack/applicability';
import { computeAttackCell, withSampleDims, type AttackCellSummary } from './attack/cell';
import type { AttackTransform } from './attack/conditions';
import { attackByName } from './attack/registry';

export interface CellComputation {
  readonly metrics: AccuracyMetrics;
  readonly classes: number;
  /** Model outputs for every sample, [N, C] float32, as .npy bytes. */
  readonly logitsNpy: Uint8Array;
  /** Attack cells: what the attack did (queries, success, perturbation sizes). */
  readonly attack?: AttackCellSummary;
}

/** Valid input range of a dataset: images are [0, 1]; tabular features their observed range. */
function inputBounds(plan: BenchmarkPlan, data: LabeledData): { min: number; max: number } {
  if (!plan.dataset.features) return { min: 0, max: 1 };
  let min = Infinity;
  let max = -Infinity;
  for (const value of data.inputs.data) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { min, max };
}

/** The logits blob of a not-applicable cell: an empty [0, 0] float32 .npy (the same bytes for every such cell). */
const NO_LOGITS_NPY = encodeNpy('<f4', [0, 0], new Float32Array(0));

/**
 * Whether a model has an input gradient, per model bytes (and score kind): the gradient build
 * is the expensive part of the decision, and every white-box cell of the model asks the same.
 */
const gradientGaps = new BoundedCache<GradientGap | null>(16);

/** Why the cell's attack cannot run on its model, or undefined when it can. */
export async function attackNotApplicable(
  resources: BenchmarkResources,
  plan: BenchmarkPlan,
  cell: PlannedCell,
  transform: AttackTransform,
): Promise<NotApplicable | undefined> {
  const scores = scoreKindOf(plan, cell.modelSha256);
  return attackApplicability(attackByName(transform.module), async () => {
    const gap = await gradientGaps.get(`${cell.modelSha256}/${scores ?? ''}`, async () => {
      const bytes = await resources.store.getBlob(cell.modelSha256);
      return gradientGap(bytes, scores ? { scores } : {}) ?? null;
    });
    return gap ?? undefined;
  });
}

async function attackComputation(
  resources: BenchmarkResources,
  plan: BenchmarkPlan,
  cell: PlannedCell,
  transform: AttackTransform,
  data: LabeledData,
  onBatch?: (samplesDone: number) => void,
): Promise<CellComputation> {
  const model = await resources.attackOracle(plan, cell.modelSha256);
  const { values, classes, attack } = await computeAttackCell({
    transform,
    randomnessScope: randomnessScope(plan.dataset.hash, transform, cell.seed),
    data,
    oracle: withSampleDims(model, plan.dataset.sampleDims),
    gradientUnavailable: model.gradientUnavailable,
    bounds: inputBounds(plan, data),
    batchSize: plan.batchSize,
    onBatch,
  });
  return {
    metrics: accuracyOf(values, classes, data.labels),
    classes,
    logitsNpy: encodeNpy('<f4', [data.labels.length, classes], values),
    attack,
  };
}

/** Evaluate one cell: perturb each batch with the cell's seeded streams, run the model, score. */
export async function computeCell(args: {
  cell: PlannedCell;
  catalog: ModuleCatalog;
  dataHash: string;
  data: LabeledData;
  features?: readonly FeatureInfo[];
  profile: () => DatasetProfile;
  model: LoadedModel;
  runner: ModelRunner;
  batchSize: number;
  onBatch?: (samplesDone: number) => void;
}): Promise<CellComputation> {
  const { values, classes } = await args.runner.predict(args.model, args.data.inputs, args.batchSize, {
    transform: batchTransform(args),
    onBatch: args.onBatch,
  });
  return {
    metrics: accuracyOf(values, classes, args.data.labels),
    classes,
    logitsNpy: encodeNpy('<f4', [args.data.labels.length, classes], values),
  };
}

/** The perturbation of a cell as a batch function (undefined for clean cells). */
export function batchTransform(args: {
  cell: PlannedCell;
  catalog: ModuleCatalog;
  dataHash: string;
  features?: readonly FeatureInfo[];
  profile: () => DatasetProfile;
}): BatchTransform | undefined {
  const { cell } = args;
  const { transform } = cell;
  // Attacks are not batch functions of the inputs alone: they query the model (computeAttackCell).
  if (transform.kind !== 'perturbation') return undefined;
  const module = args.catalog.find(transform.module, transform.version, `cell ${cell.index}`);
  const key = deriveKey(randomnessScope(args.dataHash, transform, cell.seed));
  return (batch, firstSampleIndex) =>
    module.apply(batch, transform.params, {
      streamFor: (index) => sampleStream(key, index),
      firstSampleIndex,
      features: args.features,
      profile: args.profile,
    });
}

/** Store index from cell key to its CellResult blob; written last, so an entry means a whole cell. */
export const CELL_INDEX = 'cells';
/**
 * Append-only events, one per finished computation of a cell key (for audit and for counting).
 * Written after the cell's blobs and before its index entry: the event is the commit point.
 */
export const COMPUTATION_EVENTS = 'computations';

/** The ref of CellResult blob `sha256` if it is one for `key` whose logits are stored too; corrupted counts as missing. */
async function verifiedCellResult(
  store: ArtifactStore,
  sha256: string,
  key: string,
): Promise<ArtifactRef | undefined> {
  try {
    const bytes = await store.getBlob(sha256);
    const result = JSON.parse(new TextDecoder().decode(bytes)) as CellResult;
    if (result.key !== key) return undefined;
    await store.getBlob(result.logits.sha256);
    return { sha256, size: bytes.length, mediaType: MEDIA_TYPES.json };
  } catch (error) {
    if (error instanceof ArtifactCorruptedError || error instanceof ArtifactNotFoundError) return undefined;
    throw error;
  }
}

/**
 * A finished cell's result, if the store has one that still verifies. A worker killed after its
 * computation event but before the index entry did finish the cell: its result is committed here
 * rather than computed a second time.
 */
export async function findFinishedCell(store: ArtifactStore, key: string): Promise<ArtifactRef | undefined> {
  const ref = await store.getIndex(CELL_INDEX, key);
  if (ref) return (await verifiedCellResult(store, ref.sha256, key)) && ref;
  for (const event of await store.listEvents(COMPUTATION_EVENTS, key)) {
    if (typeof event.result !== 'string') continue;
    const recovered = await verifiedCellResult(store, event.result, key);
    if (recovered) {
      await store.setIndex(CELL_INDEX, key, recovered);
      return recovered;
    }
  }
  return undefined;
}

/** Cell `index` of a plan, checked against the key the caller expects. */
function plannedCell(plan: BenchmarkPlan, planSha256: string, index: number, key: string): PlannedCell {
  const cell = plan.cells[index];
  if (!cell || cell.key !== key) {
    throw new TempestInputError(
      `cell ${index} of plan ${planSha256} does not have key ${key}`,
      'PlanMismatch',
    );
  }
  return cell;
}

/**
 * Evaluate cell `index` of a stored plan from scratch, without touching the store: its result
 * record and logits bytes. `tempest verify` re-executes cells with this and compares hashes.
 */
export async function evaluateStoredCell(args: {
  resources: BenchmarkResources;
  planSha256: string;
  index: number;
  key: string;
  onBatch?: (samplesDone: number) => void;
}): Promise<{ result: CellResult; logitsNpy: Uint8Array }> {
  const { resources } = args;
  const plan: BenchmarkPlan = await resources.plan(args.planSha256);
  const cell = plannedCell(plan, args.planSha256, args.index, args.key);
  const logitsRef = (npy: Uint8Array): ArtifactRef => ({
    sha256: sha256Hex(npy),
    size: npy.length,
    mediaType: MEDIA_TYPES.npy,
  });
  const identity = {
    apiVersion: 'tempest.cell/v1',
    key: cell.key,
    modelId: cell.modelId,
    modelSha256: cell.modelSha256,
    dataHash: plan.dataset.hash,
    condition: cell.condition,
    transform: cell.transform,
    seed: cell.seed,
    runtime: plan.runtime,
  } as const;
  // Decided before any data or model session is loaded: a deterministic result, never an error.
  const notApplicable =
    cell.transform.kind === 'attack'
      ? await attackNotApplicable(resources, plan, cell, cell.transform)
      : undefined;
  if (notApplicable) {
    const result: NotApplicableCellResult = {
      ...identity,
      logits: logitsRef(NO_LOGITS_NPY),
      status: 'not-applicable',
      notApplicable,
    };
    return { result, logitsNpy: NO_LOGITS_NPY };
  }
  const data = await resources.data(plan);
  const computation =
    cell.transform.kind === 'attack'
      ? await attackComputation(resources, plan, cell, cell.transform, data, args.onBatch)
      : await computeCell({
          cell,
          catalog: await resources.catalog(plan),
          dataHash: plan.dataset.hash,
          data,
          features: plan.dataset.features,
          profile: () => resources.profile(plan, data),
          model: await resources.model(plan, cell.modelSha256, cell.modelId),
          runner: resources.runnerFor(plan.threads),
          batchSize: plan.batchSize,
          onBatch: args.onBatch,
        });
  // Same keys in the same order as ever: a computed cell's bytes do not change.
  const result: ComputedCellResult = {
    ...identity,
    metrics: computation.metrics,
    classes: computation.classes,
    logits: logitsRef(computation.logitsNpy),
    ...(computation.attack && { attack: computation.attack }),
  };
  return { result, logitsNpy: computation.logitsNpy };
}

/** The address a CellResult gets in the store (canonical JSON), without storing it. */
export function cellResultSha256(result: CellResult): string {
  return sha256Hex(canonicalJson(result));
}

/**
 * Compute cell `index` of a stored plan and store its logits and result, recording who computed
 * it. Blobs, then the computation event, then the index entry: a crash before the event leaves only
 * unreferenced blobs, never half a cell; a crash after it leaves a cell findFinishedCell commits.
 */
export async function computeAndStoreCell(args: {
  resources: BenchmarkResources;
  planSha256: string;
  index: number;
  key: string;
  computedBy: { worker: string; attempt: number };
  onBatch?: (samplesDone: number) => void;
}): Promise<{ result: ArtifactRef; computeMs: number }> {
  const { store } = args.resources;
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const { result, logitsNpy } = await evaluateStoredCell(args);
  await store.putBlob(logitsNpy, MEDIA_TYPES.npy);
  const resultRef = await putCanonicalJson(store, result);
  const computeMs = Math.round(performance.now() - started);
  await store.appendEvent(COMPUTATION_EVENTS, result.key, {
    index: args.index,
    key: result.key,
    ...args.computedBy,
    result: resultRef.sha256,
    computeMs,
    startedAt,
    finishedAt: new Date().toISOString(),
  });
  await store.setIndex(CELL_INDEX, result.key, resultRef);
  return { result: resultRef, computeMs };
}
