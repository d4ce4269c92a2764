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
  /** Set for adversarial-attack cells, which can run on their own task queue. */
  readonly attack?: true;
}

/** Cells of one plan evaluated by one activity, in order. */
export interface CellBatchTask {
  readonly planSha256: string;
  readonly cells: readonly CellTask[];
  /** Compute even when the store has a result (drift checks re-execute cells). */
  readonly recompute?: boolean;
  /** Attack cells only: routed to `execution.attackTaskQueue` when the spec names one. */
  readonly attack?: true;
}

export interface ResolvedBenchmark {
  readonly plan: ArtifactRef;
  readonly specHash: string;
  readonly recompute?: boolean;
  /**
   * Every cell, for sweeps that run in one workflow. Sharded sweeps (more cells than
   * `execution.cellsPerShard`) leave it empty: each shard reads its own range from the plan, so
   * no history carries the whole list.
   */
  readonly cells: readonly CellTask[];
  /** Number of cells (absent in histories recorded before sharding: then `cells.length`). */
  readonly cellCount?: number;
}

/** A contiguous range of a plan's cells, run by one child workflow (or in-process). */
export interface ShardTask {
  readonly plan: ArtifactRef;
  readonly recompute?: boolean;
  readonly shard: number;
  /** First cell index and one past the last. */
  readonly start: number;
  readonly end: number;
  readonly concurrency: number;
  readonly cellsPerTask?: number;
}

/** What a shard hands back: counts, and its cell outcomes as one stored artifact (not in history). */
export interface ShardResult {
  readonly shard: number;
  readonly outcomes: ArtifactRef;
  readonly done: number;
  readonly cached: number;
  /** The workflow execution that ran it (absent in-process). */
  readonly execution?: WorkflowExecution;
}

export interface WorkflowExecution {
  readonly workflowId: string;
  readonly runId: string;
}

/**
 * Where a sharded sweep stands when its workflow continues as new: the next run starts from here
 * instead of resolving again, so a sweep of any size keeps every history short.
 */
export interface SweepCheckpoint {
  readonly resolved: ResolvedBenchmark;
  readonly startedAt: string;
  /** The finished shards, in plan order: the next run resumes at shard `shards.length`. */
  readonly shards: readonly ShardResult[];
  /** Earlier runs of this workflow (continue-as-new chain), oldest first. */
  readonly earlierRuns: readonly WorkflowExecution[];
  readonly paused: boolean;
  readonly cancelRequested: boolean;
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
  /** Outcomes of a sweep run in one workflow. */
  readonly outcomes: readonly CellOutcome[];
  /** Outcomes of a sharded sweep, one stored list per shard, read by the activity. */
  readonly shardOutcomes?: readonly ArtifactRef[];
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
  /**
   * Sharded sweeps: every workflow execution besides the final run (earlier runs of the
   * continue-as-new chain, then the shards' child workflows), so their histories can be kept.
   */
  readonly executions?: readonly WorkflowExecution[];
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
  /** Sharded sweeps: the child workflow running now; its own progress query counts its cells. */
  readonly runningShard?: string;
}
