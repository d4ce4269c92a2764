import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { computeCell } from '../core/cell';
import { loadDataset, resolveDataPath } from '../core/data/dataset';
import { decodeNpy, encodeNpy } from '../core/data/npy';
import { ArtifactCorruptedError, ArtifactNotFoundError, TempestInputError } from '../core/errors';
import { canonicalJson, sha256Hex } from '../core/hash';
import { ModelRunner, RUNTIME_ID, type LoadedModel, type RunnerSettings } from '../core/model/runner';
import {
  dataIdentity,
  expandCells,
  expandConditions,
  moduleIdsOf,
  specHash,
  type BenchmarkPlan,
  type PlannedModel,
} from '../core/plan';
import { captureEnvironment } from '../core/provenance/environment';
import { buildProvenance } from '../core/provenance/record';
import { renderMarkdownReport } from '../core/report/markdown';
import { buildResults, type CellResult } from '../core/results';
import { MEDIA_TYPES, type ArtifactRef, type ArtifactStore } from '../core/store/types';
import { makeTensor, sliceSamples, type LabeledData } from '../core/tensor/tensor';
import { validateSpec } from '../spec';
import type { ActivityRuntime } from './activity-context';
import type {
  AggregateInput,
  AggregateOutput,
  BenchmarkInput,
  CellOutcome,
  CellTask,
  FinalizeInput,
  FinalizeOutput,
  ResolvedBenchmark,
} from './types';

export const CELL_INDEX = 'cells';
export const COMPUTATION_EVENTS = 'computations';
const HEARTBEAT_INTERVAL_MS = 1000;

export interface ActivityDeps {
  readonly store: ArtifactStore;
  readonly runtime: ActivityRuntime;
  /** Identity recorded with every cell this process computes. */
  readonly workerIdentity: string;
}

/** Bad input becomes a non-retryable failure carrying the kind; anything else is left to Temporal's retries. */
async function classifyErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TempestInputError) throw ApplicationFailure.nonRetryable(error.message, error.kind);
    throw error;
  }
}

/** A small bounded cache: workers evaluate many cells of the same plan, data and models in a row. */
class BoundedCache<V> {
  private readonly entries = new Map<string, Promise<V>>();
  constructor(private readonly capacity: number) {}
  get(key: string, load: () => Promise<V>): Promise<V> {
    let value = this.entries.get(key);
    if (!value) {
      value = load();
      value.catch(() => this.entries.delete(key));
      this.entries.set(key, value);
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    }
    return value;
  }
}

async function putJson(store: ArtifactStore, value: unknown): Promise<ArtifactRef> {
  return store.putBlob(new TextEncoder().encode(canonicalJson(value)), MEDIA_TYPES.json);
}

async function getJson<T>(store: ArtifactStore, sha256: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await store.getBlob(sha256))) as T;
}

export function createBenchmarkActivities(deps: ActivityDeps) {
  const { store, runtime } = deps;
  const runners = new Map<string, ModelRunner>();
  const plans = new BoundedCache<BenchmarkPlan>(8);
  const datasets = new BoundedCache<LabeledData>(4);

  function runnerFor(settings: RunnerSettings): ModelRunner {
    const id = `${settings.intraOpThreads}/${settings.interOpThreads}`;
    let runner = runners.get(id);
    if (!runner) runners.set(id, (runner = new ModelRunner(settings)));
    return runner;
  }

  const loadPlan = (sha256: string) => plans.get(sha256, () => getJson<BenchmarkPlan>(store, sha256));

  const loadData = (plan: BenchmarkPlan) =>
    datasets.get(plan.dataset.hash, async () => {
      const inputs = decodeNpy(await store.getBlob(plan.dataset.inputs.sha256));
      const labels = decodeNpy(await store.getBlob(plan.dataset.labels.sha256));
      return {
        inputs: makeTensor(inputs.shape, inputs.values as Float32Array),
        labels: labels.values as Int32Array,
      };
    });

  /** A finished cell's result, if the store has one that still verifies; corrupted results are recomputed. */
  async function findFinishedCell(key: string): Promise<ArtifactRef | undefined> {
    const ref = await store.getIndex(CELL_INDEX, key);
    if (!ref) return undefined;
    try {
      const result = await getJson<CellResult>(store, ref.sha256);
      await store.getBlob(result.logits.sha256);
      return ref;
    } catch (error) {
      if (error instanceof ArtifactCorruptedError || error instanceof ArtifactNotFoundError) return undefined;
      throw error;
    }
  }

  async function resolveModels(
    input: BenchmarkInput,
    runner: ModelRunner,
  ): Promise<{ models: PlannedModel[]; sessions: LoadedModel[] }> {
    const models: PlannedModel[] = [];
    const sessions: LoadedModel[] = [];
    for (const [index, model] of input.spec.models.entries()) {
      const path = resolveDataPath(input.baseDir, model.path);
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
      sessions.push(await runner.load(sha256, async () => bytes, `"${model.id}" (${path})`));
      const blob = await store.putBlob(bytes, MEDIA_TYPES.onnx);
      models.push({ id: model.id, sha256, blob, sourcePath: model.path });
    }
    return { models, sessions };
  }

  return {
    /** Hash and store models and data, check they fit together, and expand the spec into cells. */
    async resolveBenchmark(input: BenchmarkInput): Promise<ResolvedBenchmark> {
      return classifyErrors(async () => {
        const spec = validateSpec(input.spec, input.specSource);
        const conditions = expandConditions(spec);
        const threads = {
          intraOpThreads: spec.execution.intraOpThreads,
          interOpThreads: spec.execution.interOpThreads,
        };
        const runner = runnerFor(threads);
        const { models, sessions } = await resolveModels({ ...input, spec }, runner);
        runtime.heartbeat({ stage: 'models' });
        const { data, lineage } = await loadDataset(spec.dataset, input.baseDir);
        runtime.heartbeat({ stage: 'dataset' });
        const inputs = await store.putBlob(
          encodeNpy('<f4', data.inputs.dims, data.inputs.data),
          MEDIA_TYPES.npy,
        );
        const labels = await store.putBlob(
          encodeNpy('<i4', [data.labels.length], data.labels),
          MEDIA_TYPES.npy,
        );
        const dataset = {
          hash: dataIdentity(inputs, labels),
          inputs,
          labels,
          samples: data.labels.length,
          sampleDims: data.inputs.dims.slice(1),
          lineage,
        };
        await checkModelsFitData(sessions, models, data, runner);
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
          seeds: spec.seeds,
          cells: expandCells(spec, models, dataset, RUNTIME_ID, threads),
        };
        const planRef = await putJson(store, plan);
        return {
          plan: planRef,
          specHash: plan.specHash,
          cells: plan.cells.map((cell) => ({
            planSha256: planRef.sha256,
            index: cell.index,
            key: cell.key,
            label: `${cell.modelId} / ${cell.condition}${cell.seed === null ? '' : ` / seed ${cell.seed}`}`,
          })),
        };
      });
    },

    /** Evaluate one cell, or reuse its stored result when the same key was computed before. */
    async runCell(task: CellTask): Promise<CellOutcome> {
      return classifyErrors(async () => {
        const startedAt = new Date();
        const base = {
          index: task.index,
          key: task.key,
          worker: deps.workerIdentity,
          attempt: runtime.attempt(),
        };
        const finished = await findFinishedCell(task.key);
        if (finished) {
          return {
            ...base,
            cached: true,
            result: finished,
            computeMs: 0,
            startedAt: startedAt.toISOString(),
            finishedAt: new Date().toISOString(),
          };
        }
        const plan = await loadPlan(task.planSha256);
        const cell = plan.cells[task.index];
        if (!cell || cell.key !== task.key) {
          throw new TempestInputError(
            `cell ${task.index} of plan ${task.planSha256} does not have key ${task.key}`,
            'PlanMismatch',
          );
        }
        const runner = runnerFor(plan.threads);
        const data = await loadData(plan);
        const model = await runner.load(
          cell.modelSha256,
          () => store.getBlob(cell.modelSha256),
          cell.modelId,
        );
        const started = performance.now();
        let lastHeartbeat = started;
        const computation = await computeCell({
          cell,
          dataHash: plan.dataset.hash,
          data,
          model,
          runner,
          batchSize: plan.batchSize,
          onBatch: (samplesDone) => {
            // Heartbeats cost a server round trip each: send at most one a second, enough for
            // liveness (the heartbeat timeout is seconds) and for cancellation to get through.
            if (performance.now() - lastHeartbeat >= HEARTBEAT_INTERVAL_MS) {
              lastHeartbeat = performance.now();
              runtime.heartbeat({ samplesDone });
            }
          },
        });
        const logits = await store.putBlob(computation.logitsNpy, MEDIA_TYPES.npy);
        const result: CellResult = {
          apiVersion: 'tempest.cell/v1',
          key: cell.key,
          modelId: cell.modelId,
          modelSha256: cell.modelSha256,
          dataHash: plan.dataset.hash,
          condition: cell.condition,
          transform: cell.transform,
          seed: cell.seed,
          runtime: plan.runtime,
          metrics: computation.metrics,
          classes: computation.classes,
          logits,
        };
        const resultRef = await putJson(store, result);
        const computeMs = Math.round(performance.now() - started);
        const finishedAt = new Date().toISOString();
        // The index entry goes last: a crash before it leaves only unreferenced blobs, never a half cell.
        await store.setIndex(CELL_INDEX, cell.key, resultRef);
        await store.appendEvent(COMPUTATION_EVENTS, cell.key, {
          ...base,
          result: resultRef.sha256,
          computeMs,
          startedAt: startedAt.toISOString(),
          finishedAt,
        });
        return {
          ...base,
          cached: false,
          result: resultRef,
          computeMs,
          startedAt: startedAt.toISOString(),
          finishedAt,
        };
      });
    },

    /** Gather every cell's stored result into results.json. */
    async aggregateResults(input: AggregateInput): Promise<AggregateOutput> {
      return classifyErrors(async () => {
        const plan = await loadPlan(input.plan.sha256);
        const refs: ArtifactRef[] = [];
        const results: CellResult[] = [];
        for (const cell of plan.cells) {
          const ref = await store.getIndex(CELL_INDEX, cell.key);
          if (!ref)
            throw new Error(
              `cell ${cell.index} (${cell.key}) has no stored result; it must run before aggregation`,
            );
          refs.push(ref);
          results.push(await getJson<CellResult>(store, ref.sha256));
        }
        const benchmarkResults = buildResults(plan, results, refs);
        const resultsRef = await store.putBlob(
          new TextEncoder().encode(`${JSON.stringify(benchmarkResults, null, 2)}\n`),
          MEDIA_TYPES.json,
        );
        return {
          results: resultsRef,
          summary: benchmarkResults.summary.map((row) => ({
            model: row.model,
            condition: row.condition,
            replicates: row.replicates,
            accuracy: row.accuracy.mean,
          })),
        };
      });
    },

    /** Write provenance.json and report.md for a finished run. */
    async finalizeRun(input: FinalizeInput): Promise<FinalizeOutput> {
      return classifyErrors(async () => {
        const plan = await loadPlan(input.plan.sha256);
        const provenance = buildProvenance({
          plan,
          planRef: input.plan,
          resultsRef: input.results,
          storeUri: store.uri,
          spec: {
            source: input.input.specSource,
            text: input.input.specText,
            intraOpThreads: input.input.spec.execution.intraOpThreads,
            interOpThreads: input.input.spec.execution.interOpThreads,
          },
          run: { ...input.run, finishedAt: new Date().toISOString() },
          environment: captureEnvironment(),
          cells: input.outcomes.map((outcome) => ({
            index: outcome.index,
            key: outcome.key,
            cached: outcome.cached,
            computeMs: outcome.computeMs,
            worker: outcome.worker,
            attempt: outcome.attempt,
            startedAt: outcome.startedAt,
            finishedAt: outcome.finishedAt,
            result: outcome.result.sha256,
          })),
        });
        const provenanceRef = await store.putBlob(
          new TextEncoder().encode(`${JSON.stringify(provenance, null, 2)}\n`),
          MEDIA_TYPES.json,
        );
        const results = await getJson<Parameters<typeof renderMarkdownReport>[0]>(
          store,
          input.results.sha256,
        );
        const report = await store.putBlob(
          new TextEncoder().encode(renderMarkdownReport(results, provenance)),
          MEDIA_TYPES.markdown,
        );
        return { report, provenance: provenanceRef };
      });
    },
  };
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
    const { classes } = await runner.predictBatch(session, firstSample);
    if (maxLabel >= classes) {
      throw new TempestInputError(
        `model "${models[index].id}" has ${classes} outputs but the dataset has label ${maxLabel}; ` +
          `labels must be class indices below ${classes}`,
        'LabelOutOfRange',
      );
    }
  }
}

export type BenchmarkActivities = ReturnType<typeof createBenchmarkActivities>;
