import type { BenchmarkSpec, StatisticsSpecV1 } from '../spec';
import type { FeatureInfo } from './data/dataset';
import { CORRUPTION_SUITES, formatPath } from '../spec';
import { TempestInputError } from './errors';
import { hashOf } from './hash';
import { BUILTIN_CATALOG, type ModuleCatalog, type UserModuleSource } from './perturb/catalog';
import { moduleId, type PerturbationModule } from './perturb/module';
import type { ModelIo } from './model/adapter';
import type { RunnerSettings } from './model/runner';
import type { ArtifactRef } from './store/types';
import { attackConditions, type AttackTransform } from './attack/conditions';

/** What is done to the inputs of a cell before the model sees them. */
export type Transform =
  | { readonly kind: 'clean' }
  | {
      readonly kind: 'perturbation';
      readonly module: string;
      readonly version: string;
      /** For user modules: where their code came from (file hash or package@version). */
      readonly origin?: string;
      readonly severity: number | null;
      readonly params: Record<string, unknown>;
    }
  | AttackTransform;

/** A condition is a transform plus whether it needs one cell per replicate seed. */
export interface Condition {
  readonly label: string;
  readonly transform: Transform;
  readonly stochastic: boolean;
}

export interface PlannedModel {
  readonly id: string;
  /** Hash of the bytes workers load: the file's, or the adapted model's (core/model/adapter.ts). */
  readonly sha256: string;
  readonly blob: ArtifactRef;
  readonly sourcePath: string;
  /** The file's own sha256, when the adapter changed the model (then `sha256` is the adapted bytes'). */
  readonly sourceSha256?: string;
  /** What the adapter chose and did; present when it changed the model or the spec declares I/O. */
  readonly io?: ModelIo;
}

export interface PlannedDataset {
  /** Identity of the samples: hash of the input and label blob hashes. */
  readonly hash: string;
  readonly inputs: ArtifactRef;
  readonly labels: ArtifactRef;
  readonly samples: number;
  readonly sampleDims: readonly number[];
  /** Tabular data: feature names and kinds (part of the data's identity). */
  readonly features?: readonly FeatureInfo[];
  /** Subgroup ids per sample, when the spec names them (otherwise the labels define the groups). */
  readonly groups?: { readonly source: string; readonly ids: ArtifactRef };
  readonly lineage: unknown;
  /** Class names by label index, where the data names its classes (image-folder subfolders). */
  readonly classNames?: readonly string[];
}

export interface PlannedCell {
  readonly index: number;
  readonly key: string;
  readonly modelId: string;
  readonly modelSha256: string;
  readonly condition: string;
  readonly transform: Transform;
  /** Replicate seed; null for deterministic transforms, which need one cell only. */
  readonly seed: number | null;
}

export interface BenchmarkPlan {
  readonly apiVersion: 'tempest.plan/v1';
  readonly name: string;
  readonly specHash: string;
  readonly runtime: string;
  readonly batchSize: number;
  readonly threads: RunnerSettings;
  readonly models: readonly PlannedModel[];
  readonly dataset: PlannedDataset;
  readonly modules: readonly string[];
  /** User modules the plan's cells use, so every worker loads the same code. */
  readonly userModules: readonly UserModuleSource[];
  readonly seeds: readonly number[];
  /** The model that normalizes corruption errors, when the spec names one. */
  readonly baseline?: string;
  /** Interval level, test level, correction and thresholds of the evaluation. */
  readonly statistics: StatisticsSpecV1;
  /** Baseline stability check: the earlier run's results (stored) and where alerts go. */
  readonly drift?: {
    readonly baseline: ArtifactRef;
    readonly alerts?: { readonly file?: string; readonly url?: string };
  };
  /** Compute every cell afresh even when the store has it (drift checks re-execute the baseline's cells). */
  readonly recompute: boolean;
  readonly cells: readonly PlannedCell[];
}

export function specHash(spec: BenchmarkSpec): string {
  return hashOf(spec);
}

function validatedParams(
  module: PerturbationModule,
  params: Record<string, unknown>,
  where: readonly PropertyKey[],
): Record<string, unknown> {
  const parsed = module.params.safeParse(params);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${formatPath([...where, ...issue.path])}: ${issue.message}`,
    );
    throw new TempestInputError(
      `invalid parameters for ${module.name}: ${problems.join('; ')}`,
      'InvalidModuleParams',
    );
  }
  return parsed.data;
}

/** A perturbation entry after the corruption-suite shorthand is expanded. */
interface PerturbationRequest {
  readonly entry: BenchmarkSpec['perturbations'][number];
  /** Where the entry came from, for error messages: the perturbation's path or the suite's. */
  readonly where: readonly PropertyKey[];
}

/** `corruptions: imagenet-c` (or a suite with severities and exclusions) becomes one entry per corruption. */
function perturbationRequests(spec: BenchmarkSpec): PerturbationRequest[] {
  const requests: PerturbationRequest[] = [];
  if (spec.corruptions !== undefined) {
    const suite = typeof spec.corruptions === 'string' ? { suite: spec.corruptions } : spec.corruptions;
    const names: readonly string[] = CORRUPTION_SUITES[suite.suite];
    const excluded = 'exclude' in suite ? (suite.exclude ?? []) : [];
    for (const name of excluded) {
      if (!names.includes(name)) {
        throw new TempestInputError(
          `corruptions.exclude: "${name}" is not in the ${suite.suite} suite (${names.join(', ')})`,
          'UnknownModule',
        );
      }
    }
    const severities = 'severities' in suite ? suite.severities : undefined;
    for (const name of names.filter((candidate) => !excluded.includes(candidate))) {
      requests.push({
        entry: { module: name, severities: severities ?? [1, 2, 3, 4, 5] },
        where: ['corruptions', name],
      });
    }
  }
  spec.perturbations.forEach((entry, index) => requests.push({ entry, where: ['perturbations', index] }));
  return requests;
}

/** Every combination of a grid's values, in the order the grid lists them (the last key varies fastest). */
function gridCombinations(grid: Record<string, readonly unknown[]> | undefined): Record<string, unknown>[] {
  let combinations: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(grid ?? {})) {
    combinations = combinations.flatMap((combination) =>
      values.map((value) => ({ ...combination, [key]: value })),
    );
  }
  return combinations;
}

function conditionLabel(
  name: string,
  severity: number | null,
  gridValues: Record<string, unknown>,
  params: Record<string, unknown>,
  hasOverrides: boolean,
): string {
  const parts = [name];
  if (severity !== null) parts.push(`s${severity}`);
  const grid = Object.entries(gridValues).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  if (grid.length > 0) parts.push(grid.join(','));
  else if (severity === null && hasOverrides) parts.push(`params-${hashOf(params).slice(0, 8)}`);
  return parts.join('/');
}

/**
 * The conditions a spec asks for, with modules resolved and parameters validated. Pure and cheap,
 * so the CLI runs it before starting anything: a bad module or parameter never reaches a worker.
 */
export function expandConditions(spec: BenchmarkSpec, catalog: ModuleCatalog = BUILTIN_CATALOG): Condition[] {
  const conditions: Condition[] = [];
  if (spec.clean) conditions.push({ label: 'clean', transform: { kind: 'clean' }, stochastic: false });
  for (const { entry, where } of perturbationRequests(spec)) {
    const module = catalog.find(entry.module, entry.version, formatPath([...where, 'module']));
    const overrides = entry.params ?? {};
    const hasOverrides = entry.params !== undefined || entry.grid !== undefined;
    const severities: (number | null)[] =
      entry.severities ?? (module.severityParams && !hasOverrides ? [1, 2, 3, 4, 5] : [null]);
    for (const severity of severities) {
      if (severity !== null && !module.severityParams) {
        throw new TempestInputError(
          `${formatPath([...where, 'severities'])}: ${module.name} has no severity scale; give params instead`,
          'InvalidModuleParams',
        );
      }
      for (const gridValues of gridCombinations(entry.grid)) {
        const base = severity === null ? {} : module.severityParams!(severity);
        const params = validatedParams(module, { ...base, ...overrides, ...gridValues }, [
          ...where,
          'params',
        ]);
        const label = conditionLabel(module.name, severity, gridValues, params, hasOverrides);
        if (conditions.some((existing) => existing.label === label)) {
          throw new TempestInputError(
            `${formatPath(where)}: condition ${label} is listed twice`,
            'DuplicateCondition',
          );
        }
        conditions.push({
          label,
          stochastic: module.stochastic,
          transform: {
            kind: 'perturbation',
            module: module.name,
            version: module.version,
            origin: catalog.origin(module.name),
            severity,
            params,
          },
        });
      }
    }
  }
  conditions.push(...attackConditions(spec, new Set(conditions.map((condition) => condition.label))));
  return conditions;
}

/**
 * The cell key: sha256 of every input that can change a cell's output bytes. Equal keys mean
 * equal results, which is what lets any run reuse any earlier run's finished cells. Batch size and
 * thread counts are included conservatively: kernels may pick different summation orders for them.
 */
export function cellKey(parts: {
  modelSha256: string;
  dataHash: string;
  transform: Transform;
  seed: number | null;
  runtime: string;
  batchSize: number;
  threads: RunnerSettings;
  /**
   * The spec's image preprocessing and the model's declared output kind, only when given: the
   * adapted model's hash already covers what is folded into the graph, but resize and crop act on
   * the data, and the output kind changes attack losses. Absent, keys are the same as before.
   */
  preprocessing?: unknown;
  outputKind?: string;
}): string {
  return hashOf({ cell: 'tempest/cell/v1', ...parts });
}

/**
 * Whose randomness a perturbation draws: seed, data and transform, but not the model, so every
 * model sees the very same perturbed inputs and models can be compared sample by sample.
 */
export function randomnessScope(dataHash: string, transform: Transform, seed: number | null): unknown {
  if (transform.kind === 'clean') return { clean: true };
  return {
    data: dataHash,
    module: moduleId({ name: transform.module, version: transform.version }),
    origin: transform.kind === 'perturbation' ? transform.origin : undefined,
    params: transform.params,
    seed,
  };
}

export function expandCells(
  conditions: readonly Condition[],
  spec: BenchmarkSpec,
  models: readonly PlannedModel[],
  dataset: PlannedDataset,
  runtime: string,
  threads: RunnerSettings,
): PlannedCell[] {
  const cells: PlannedCell[] = [];
  for (const model of models) {
    for (const condition of conditions) {
      for (const seed of condition.stochastic ? spec.seeds : [null]) {
        const key = cellKey({
          modelSha256: model.sha256,
          dataHash: dataset.hash,
          transform: condition.transform,
          seed,
          runtime,
          batchSize: spec.execution.batchSize,
          threads,
          ...(spec.preprocessing ? { preprocessing: spec.preprocessing } : {}),
          ...(model.io?.outputKind ? { outputKind: model.io.outputKind } : {}),
        });
        cells.push({
          index: cells.length,
          key,
          modelId: model.id,
          modelSha256: model.sha256,
          condition: condition.label,
          transform: condition.transform,
          seed,
        });
      }
    }
  }
  return cells;
}

export function moduleIdsOf(conditions: readonly Condition[]): string[] {
  const ids = new Set<string>();
  for (const { transform } of conditions) {
    if (transform.kind !== 'clean') ids.add(moduleId({ name: transform.module, version: transform.version }));
  }
  return [...ids].sort();
}

/** Identity of the samples: their bytes, plus which features are categorical (that changes perturbations). */
export function dataIdentity(
  inputs: ArtifactRef,
  labels: ArtifactRef,
  features?: readonly FeatureInfo[],
): string {
  return hashOf({ data: 'tempest/data/v1', inputs: inputs.sha256, labels: labels.sha256, features });
}

/** What a planned model's scores are, as its spec declares them (the gradient builder's `scores`). */
export function scoreKindOf(plan: BenchmarkPlan, modelSha256: string): ModelIo['outputKind'] {
  return plan.models.find((entry) => entry.sha256 === modelSha256)?.io?.outputKind;
}
