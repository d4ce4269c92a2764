import type { DriftAlert } from './drift';
import type { RunEvaluation } from './evaluation';
import { CORRUPTION_SUITES } from '../spec';
import type { AccuracyMetrics } from './metrics/accuracy';
import { corruptionErrors, type CorruptionErrorReport } from './metrics/corruption-error';
import type { BenchmarkPlan, Transform } from './plan';
import type { ArtifactRef } from './store/types';
import type { AttackCellSummary } from './attack/cell';
import type { AttackResults } from './attack/curves';

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

/** The stored result of one cell. Only deterministic content: equal cell keys give equal bytes. */
export interface CellResult {
  readonly apiVersion: 'tempest.cell/v1';
  readonly key: string;
  readonly modelId: string;
  readonly modelSha256: string;
  readonly dataHash: string;
  readonly condition: string;
  readonly transform: Transform;
  readonly seed: number | null;
  readonly runtime: string;
  readonly metrics: AccuracyMetrics;
  readonly classes: number;
  readonly logits: ArtifactRef;
  /** Attack cells: queries, success rate, perturbation sizes, gradient diagnostics. */
  readonly attack?: AttackCellSummary;
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
  };
  readonly models: readonly { readonly id: string; readonly sha256: string }[];
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
}

function sampleSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
}

/** Mean, range and sample SD of accuracy over the replicate seeds of each (model, condition). */
export function summarize(plan: BenchmarkPlan, results: readonly CellResult[]): ConditionSummary[] {
  const groups = new Map<string, CellResult[]>();
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

export function buildResults(
  plan: BenchmarkPlan,
  results: readonly CellResult[],
  resultRefs: readonly ArtifactRef[],
): BenchmarkResults {
  const summary = summarize(plan, results);
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
    },
    models: plan.models.map((model) => ({ id: model.id, sha256: model.sha256 })),
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
    cells: results.map((result, index) => ({
      index,
      key: result.key,
      model: result.modelId,
      condition: result.condition,
      seed: result.seed,
      metrics: result.metrics,
      result: resultRefs[index].sha256,
      logits: result.logits.sha256,
    })),
  };
}
