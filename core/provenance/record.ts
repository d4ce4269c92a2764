import type { ModelIo } from '../model/adapter';
import type { BenchmarkPlan } from '../plan';
import type { ArtifactRef } from '../store/types';
import type { EnvironmentRecord } from './environment';
import type { ArtifactEntry } from './inventory';

export interface CellActivityRecord {
  readonly index: number;
  readonly key: string;
  readonly cached: boolean;
  readonly computeMs: number;
  readonly worker: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly result: string;
  /** CPU time of the worker process while the cell ran (user + system; shared when cells overlap). */
  readonly cpuMs?: number;
  /** The worker process's peak resident memory when the cell finished. */
  readonly peakRssBytes?: number;
  /** When the cell was computed again although a result existed, and the bytes differed. */
  readonly differedFrom?: string;
}

/**
 * run.json: enough to trace every number to the exact spec, model, data, module versions, seeds,
 * software, machine and time it came from, with every artifact of the run and their Merkle root.
 * Unlike results.json it records what varies between runs (ids, timestamps, workers), which is why
 * the two are separate files. provenance.json is the same record in W3C PROV-JSON form.
 */
export interface ProvenanceRecord {
  readonly apiVersion: 'tempest.run/v1';
  readonly run: {
    readonly executor: string;
    readonly workflowId: string;
    readonly runId: string;
    readonly namespace: string;
    readonly taskQueue: string;
    readonly startedAt: string;
    readonly finishedAt: string;
  };
  readonly spec: {
    readonly name: string;
    readonly sha256: string;
    readonly source: string;
    readonly text: string;
  };
  readonly models: readonly {
    readonly id: string;
    readonly path: string;
    /** The hash of the bytes the workers ran (the adapted model's, when the adapter changed it). */
    readonly sha256: string;
    readonly size: number;
    /** The file's own sha256, when the model adapter changed it (see io.adaptations). */
    readonly fileSha256?: string;
    /** The input and output used, the declared output kind and class names, and each change made. */
    readonly io?: ModelIo;
  }[];
  readonly dataset: {
    readonly hash: string;
    readonly inputs: ArtifactRef;
    readonly labels: ArtifactRef;
    readonly samples: number;
    readonly lineage: unknown;
  };
  readonly modules: readonly string[];
  readonly seeds: readonly number[];
  readonly runtime: {
    readonly id: string;
    readonly executionProvider: 'cpu';
    readonly intraOpThreads: number;
    readonly interOpThreads: number;
    readonly batchSize: number;
  };
  readonly artifacts: {
    readonly store: string;
    readonly plan: ArtifactRef;
    readonly results: ArtifactRef;
    readonly report?: ArtifactRef;
    /** RFC 6962 Merkle tree hash over the sorted sha256 of every artifact in `list` and the report. */
    readonly merkleRoot?: string;
    readonly list?: readonly ArtifactEntry[];
  };
  /** Anything noticed that could make a re-execution differ (thread settings, differing recomputes). */
  readonly nondeterminism: readonly string[];
  readonly environment: EnvironmentRecord;
  readonly cells: readonly CellActivityRecord[];
  readonly counts: {
    readonly cells: number;
    readonly computed: number;
    readonly reused: number;
    readonly retried: number;
  };
}

export function buildProvenance(args: {
  plan: BenchmarkPlan;
  planRef: ArtifactRef;
  resultsRef: ArtifactRef;
  storeUri: string;
  spec: { source: string; text: string };
  run: ProvenanceRecord['run'];
  environment: EnvironmentRecord;
  cells: readonly CellActivityRecord[];
  artifacts?: { report: ArtifactRef; merkleRoot: string; list: readonly ArtifactEntry[] };
}): ProvenanceRecord {
  const { plan, cells } = args;
  return {
    apiVersion: 'tempest.run/v1',
    run: args.run,
    spec: { name: plan.name, sha256: plan.specHash, source: args.spec.source, text: args.spec.text },
    models: plan.models.map((model) => ({
      id: model.id,
      path: model.sourcePath,
      sha256: model.sha256,
      size: model.blob.size,
      ...(model.sourceSha256 ? { fileSha256: model.sourceSha256 } : {}),
      ...(model.io ? { io: model.io } : {}),
    })),
    dataset: {
      hash: plan.dataset.hash,
      inputs: plan.dataset.inputs,
      labels: plan.dataset.labels,
      samples: plan.dataset.samples,
      lineage: plan.dataset.lineage,
    },
    modules: plan.modules,
    seeds: plan.seeds,
    runtime: {
      id: plan.runtime,
      executionProvider: 'cpu',
      ...plan.threads,
      batchSize: plan.batchSize,
    },
    artifacts: { store: args.storeUri, plan: args.planRef, results: args.resultsRef, ...args.artifacts },
    nondeterminism: nondeterminismNotes(plan, cells),
    environment: args.environment,
    cells,
    counts: {
      cells: cells.length,
      computed: cells.filter((cell) => !cell.cached).length,
      reused: cells.filter((cell) => cell.cached).length,
      retried: cells.filter((cell) => cell.attempt > 1).length,
    },
  };
}

/**
 * What could make a re-execution give other bytes. ORT's CPU kernels split reductions across
 * intra-op threads, so more than one thread can change float summation order between machines.
 */
function nondeterminismNotes(plan: BenchmarkPlan, cells: readonly CellActivityRecord[]): string[] {
  const notes: string[] = [];
  if (plan.threads.intraOpThreads > 1) {
    notes.push(
      `intraOpThreads = ${plan.threads.intraOpThreads}: ORT may split float reductions differently on another machine; use 1 for bit-exact re-execution`,
    );
  }
  for (const cell of cells) {
    if (cell.differedFrom) {
      notes.push(
        `cell ${cell.index} (${cell.key}) was computed again and gave ${cell.result}, not ${cell.differedFrom}`,
      );
    }
  }
  return notes;
}
