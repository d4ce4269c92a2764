import type { BenchmarkPlan } from '../plan';
import type { ArtifactRef } from '../store/types';
import type { EnvironmentRecord } from './environment';

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
}

/**
 * provenance.json, first version: enough to trace every number to the exact spec, model, data,
 * module versions, seeds, software, machine and time it came from. Unlike results.json it records
 * what varies between runs (ids, timestamps, workers), which is why the two are separate files.
 */
export interface ProvenanceRecord {
  readonly apiVersion: 'tempest.provenance/v1';
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
    readonly sha256: string;
    readonly size: number;
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
  };
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
}): ProvenanceRecord {
  const { plan, cells } = args;
  return {
    apiVersion: 'tempest.provenance/v1',
    run: args.run,
    spec: { name: plan.name, sha256: plan.specHash, source: args.spec.source, text: args.spec.text },
    models: plan.models.map((model) => ({
      id: model.id,
      path: model.sourcePath,
      sha256: model.sha256,
      size: model.blob.size,
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
    artifacts: { store: args.storeUri, plan: args.planRef, results: args.resultsRef },
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
