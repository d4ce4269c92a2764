import type { DriftAlert } from './drift';
import type { RunEvaluation } from './evaluation';
import { CORRUPTION_SUITES } from '../spec';
import type { AccuracyMetrics } from './metrics/accuracy';
import { corruptionErrors, type CorruptionErrorReport } from './metrics/corruption-error';
import type { BenchmarkPlan, Transform } from './plan';
import type { ArtifactRef } from './store/types';
import type { NotApplicable } from './attack/applicability';
import type { AttackCellSummary } from './attack/cell';
import type { AttackResults } from './attack/curves';
import type { AttackNorm } from './attack/types';

/** The evaluation as stored: gallery images are referenced by the sha256 of their PNG blobs. */
export type StoredEvaluation = Omit<RunEvaluation, 'galleries'> & {
  readonly galleries: readonly {
    readonly model: string;
    readonly condition: string;
    readonly seed: number | null;
    readonly selection: string;
    readonly examples: readonly (Omit<RunEvaluation['galleries'][number]['examples'][number], 'png'> & {
      readonly png: string;
    })[];
  }[];
};

interface CellResultBase {
  readonly apiVersion: 'tempest.cell/v1';
  readonly key: string;
  readonly modelId: string;
  readonly modelSha256: string;
  readonly dataHash: string;
  readonly condition: string;
  readonly transform: Transform;
  readonly seed: number | null;
  readonly runtime: string;
  readonly logits: ArtifactRef;
}

/** The stored result of one cell. Only deterministic content: equal cell keys give equal bytes. */
export type CellResult = ComputedCellResult | NotApplicableCellResult;

/** A cell that ran: its scores and metrics (no `status` field, so its bytes are as they always were). */
export interface ComputedCellResult extends CellResultBase {
  readonly status?: undefined;
  readonly metrics: AccuracyMetrics;
  readonly classes: number;
  /** Attack cells: queries, success rate, perturbation sizes, gradient diagnostics. */
  readonly attack?: AttackCellSummary;
}

/**
 * An attack cell whose attack cannot run on the model (a white-box attack on a model without an
 * input gradient). It has no metrics; its `logits` is an empty [0, 0] .npy, so that every stored
 * cell has a logits blob and the store, caches and audits treat all cells alike.
 */
export interface NotApplicableCellResult extends CellResultBase {
  readonly status: 'not-applicable';
  readonly notApplicable: NotApplicable;
  /** Never set; declared so code reading a CellResult's `attack` sees `undefined`, not a type error. */
  readonly attack?: undefined;
}

export function isNotApplicable(result: CellResult): result is NotApplicableCellResult {
  return result.status === 'not-applicable';
}

/** A not-applicable cell as results.json lists it (apart from `cells`, which all have metrics). */
export interface NotApplicableCell {
  readonly index: number;
  readonly key: string;
  readonly model: string;
  readonly condition: string;
  readonly seed: number | null;
  readonly status: 'not-applicable';
  readonly attack: string;
  readonly access: NotApplicable['access'];
  readonly norm: AttackNorm;
  readonly epsilon: number;
  readonly reason: string;
  readonly op?: string;
  readonly node?: string;
  readonly domain?: string;
  readonly result: string;
}

export interface ConditionSummary {
  readonly model: string;
  readonly condition: string;
  /** The condition without its severity (e.g. "fog" for "fog/s3"); null for clean inputs and attacks. */
  readonly corruption: string | null;
  readonly severity: number | null;
  readonly replicates: number;
  readonly accuracy: {
    readonly mean: number;
    readonly min: number;
    readonly max: number;
    readonly sd: number | null;
  };
}

/** results.json: everything a reader needs to use the numbers, and nothing that varies between runs. */
export interface BenchmarkResults {
  readonly apiVersion: 'tempest.results/v1';
  readonly benchmark: { readonly name: string; readonly specHash: string };
  readonly runtime: string;
  readonly dataset: {
    readonly hash: string;
    /** sha256 of the labels blob: what `tempest compare` pairs samples by. */
    readonly labels: string;
    readonly samples: number;
    readonly sampleDims: readonly number[];
    readonly lineage: unknown;
    /** Class names by label index, where the data names its classes (image-folder subfolders). */
    readonly classNames?: readonly string[];
  };
  readonly models: readonly {
    readonly id: string;
    readonly sha256: string;
    /** The class names the spec declares for the model (models[i].classNames). */
    readonly classNames?: readonly string[];
  }[];
  readonly modules: readonly string[];
  readonly seeds: readonly number[];
  readonly summary: readonly ConditionSummary[];
  /** CE, relative CE, mCE and severity curves, when the spec names a baseline model. */
  readonly corruptionError?: CorruptionErrorReport;
  /** Intervals, calibration, subgroups, paired corrected comparisons, failure modes, gallery. */
  readonly evaluation?: StoredEvaluation;
  /** Robust accuracy vs epsilon per model and attack, and gradient-masking warnings (spec v2 attacks). */
  readonly attacks?: AttackResults;
  /** Baseline stability check against an earlier run, when the spec asks for one. */
  readonly drift?: { readonly baseline: string; readonly alerts: readonly DriftAlert[] };
  readonly cells: readonly {
    readonly index: number;
    readonly key: string;
    readonly model: string;
    readonly condition: string;
    readonly seed: number | null;
    readonly metrics: AccuracyMetrics;
    readonly result: string;
    readonly logits: string;
  }[];
  /**
   * Cells that could not be run (white-box attacks on models without an input gradient), with
   * the reason. Absent when there are none. They are in no summary, comparison, curve or gate.
   */
  readonly notApplicable?: readonly NotApplicableCell[];
}

function sampleSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
}

/** Mean, range and sample SD of accuracy over the replicate seeds of each (model, condition). */
export function summarize(plan: BenchmarkPlan, results: readonly ComputedCellResult[]): ConditionSummary[] {
  const groups = new Map<string, ComputedCellResult[]>();
  for (const result of results) {
    const group = `${result.modelId}\u0000${result.condition}`;
    groups.set(group, [...(groups.get(group) ?? []), result]);
  }
  return [...groups.values()].map((group) => {
    const accuracies = group.map((result) => result.metrics.accuracy);
    const { transform } = group[0];
    return {
      model: group[0].modelId,
      condition: group[0].condition,
      corruption:
        transform.kind !== 'perturbation'
          ? null
          : group[0].condition
              .split('/')
              .filter((part, index) => index === 0 || part !== `s${transform.severity}`)
              .join('/'),
      severity: transform.kind === 'perturbation' ? transform.severity : null,
      replicates: group.length,
      accuracy: {
        mean: accuracies.reduce((a, b) => a + b, 0) / accuracies.length,
        min: Math.min(...accuracies),
        max: Math.max(...accuracies),
        sd: sampleSd(accuracies),
      },
    };
  });
}

/** One stored cell of a plan: its index in the plan, its result and where the result is stored. */
export interface StoredCell<R extends CellResult = CellResult> {
  readonly index: number;
  readonly result: R;
  readonly ref: ArtifactRef;
}

/** The computed cells and the not-applicable ones of a plan, each in plan order. */
export function splitApplicable(cells: readonly StoredCell[]): {
  computed: StoredCell<ComputedCellResult>[];
  notApplicable: StoredCell<NotApplicableCellResult>[];
} {
  const computed: StoredCell<ComputedCellResult>[] = [];
  const notApplicable: StoredCell<NotApplicableCellResult>[] = [];
  for (const cell of cells) {
    const { result } = cell;
    if (isNotApplicable(result)) notApplicable.push({ ...cell, result });
    else computed.push({ ...cell, result });
  }
  return { computed, notApplicable };
}

function notApplicableEntry({ index, result, ref }: StoredCell<NotApplicableCellResult>): NotApplicableCell {
  const { attack, access, reason, op, node, domain } = result.notApplicable;
  const { transform } = result;
  if (transform.kind !== 'attack') throw new Error(`cell ${index}: only attack cells can be not applicable`);
  return {
    index,
    key: result.key,
    model: result.modelId,
    condition: result.condition,
    seed: result.seed,
    status: 'not-applicable',
    attack,
    access,
    norm: transform.norm,
    epsilon: transform.epsilon,
    reason,
    ...(op !== undefined && { op }),
    ...(node !== undefined && { node }),
    ...(domain !== undefined && { domain }),
    result: ref.sha256,
  };
}

export function buildResults(plan: BenchmarkPlan, stored: readonly StoredCell[]): BenchmarkResults {
  const { computed, notApplicable } = splitApplicable(stored);
  const summary = summarize(
    plan,
    computed.map((cell) => cell.result),
  );
  return {
    apiVersion: 'tempest.results/v1',
    benchmark: { name: plan.name, specHash: plan.specHash },
    runtime: plan.runtime,
    dataset: {
      hash: plan.dataset.hash,
      labels: plan.dataset.labels.sha256,
      samples: plan.dataset.samples,
      sampleDims: plan.dataset.sampleDims,
      lineage: plan.dataset.lineage,
      ...(plan.dataset.classNames ? { classNames: plan.dataset.classNames } : {}),
    },
    models: plan.models.map((model) => ({
      id: model.id,
      sha256: model.sha256,
      ...(model.io?.classNames ? { classNames: model.io.classNames } : {}),
    })),
    modules: plan.modules,
    seeds: plan.seeds,
    summary,
    corruptionError:
      plan.baseline === undefined
        ? undefined
        : corruptionErrors(
            summary.map((row) => ({
              model: row.model,
              corruption: row.corruption,
              severity: row.severity,
              accuracy: row.accuracy.mean,
            })),
            plan.baseline,
            CORRUPTION_SUITES['imagenet-c'],
          ),
    cells: computed.map(({ index, result, ref }) => ({
      index,
      key: result.key,
      model: result.modelId,
      condition: result.condition,
      seed: result.seed,
      metrics: result.metrics,
      result: ref.sha256,
      logits: result.logits.sha256,
    })),
    ...(notApplicable.length > 0 && { notApplicable: notApplicable.map(notApplicableEntry) }),
  };
}
