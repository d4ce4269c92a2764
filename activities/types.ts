import type { BenchmarkSpec } from '../spec';
import type { ArtifactRef } from '../core/store/types';

/** What starts a benchmark: the validated spec plus where its relative paths point. */
export interface BenchmarkInput {
  readonly spec: BenchmarkSpec;
  /** The spec as the user wrote it (YAML or JSON), kept for provenance. */
  readonly specText: string;
  /** File name or other label of the spec's origin. */
  readonly specSource: string;
  /** Folder that relative model and data paths are resolved against. */
  readonly baseDir: string;
}

export interface CellTask {
  readonly index: number;
  readonly key: string;
  /** Human-readable "model / condition / seed", for the event history and the UI. */
  readonly label: string;
}

/** Cells of one plan evaluated by one activity, in order. */
export interface CellBatchTask {
  readonly planSha256: string;
  readonly cells: readonly CellTask[];
  /** Compute even when the store has a result (drift checks re-execute cells). */
  readonly recompute?: boolean;
}

export interface ResolvedBenchmark {
  readonly plan: ArtifactRef;
  readonly specHash: string;
  readonly recompute?: boolean;
  readonly cells: readonly CellTask[];
}

export interface CellOutcome {
  readonly index: number;
  readonly key: string;
  /** True when an earlier computation of this key was found in the store and reused. */
  readonly cached: boolean;
  readonly result: ArtifactRef;
  readonly computeMs: number;
  readonly worker: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Worker process CPU time while the cell was computed (absent for cache hits). */
  readonly cpuMs?: number;
  /** Worker process peak resident memory after the cell (absent for cache hits). */
  readonly peakRssBytes?: number;
  /** A recomputed cell whose bytes differ from the result already stored: nondeterminism. */
  readonly differedFrom?: string;
}

export interface RunIdentity {
  readonly executor: 'temporal' | 'local';
  readonly workflowId: string;
  readonly runId: string;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly startedAt: string;
}

export interface AggregateInput {
  readonly plan: ArtifactRef;
}

export interface AggregateOutput {
  readonly results: ArtifactRef;
  readonly summary: readonly SummaryRow[];
}

export interface SummaryRow {
  readonly model: string;
  readonly condition: string;
  readonly replicates: number;
  readonly accuracy: number;
}

export interface FinalizeInput {
  readonly input: BenchmarkInput;
  readonly plan: ArtifactRef;
  readonly results: ArtifactRef;
  readonly run: RunIdentity;
  readonly outcomes: readonly CellOutcome[];
}

export interface FinalizeOutput {
  readonly report: ArtifactRef;
  readonly provenance: ArtifactRef;
}

export interface BenchmarkOutcome {
  readonly status: 'completed' | 'cancelled';
  readonly specHash: string;
  readonly plan?: ArtifactRef;
  readonly results?: ArtifactRef;
  readonly report?: ArtifactRef;
  readonly provenance?: ArtifactRef;
  readonly summary: readonly SummaryRow[];
  readonly cells: { readonly total: number; readonly done: number; readonly cached: number };
}

/** Live progress, answered by the workflow's `progress` query and by the local executor. */
export interface BenchmarkProgress {
  readonly phase: 'resolving' | 'running' | 'aggregating' | 'finalizing' | 'completed' | 'cancelled';
  readonly total: number;
  readonly done: number;
  readonly cached: number;
  readonly running: number;
  readonly paused: boolean;
  readonly cancelRequested: boolean;
}
