import { ApplicationFailure } from '@temporalio/common';
import { computeAndStoreCell, findFinishedCell } from '../core/cell';
import { TempestInputError } from '../core/errors';
import { resolveBenchmarkPlan, threadSettingsOf } from '../core/resolve';
import { BenchmarkResources } from '../core/resources';
import { aggregateStoredResults } from '../core/aggregate';
import { deliverAlerts } from '../core/drift';
import type { BenchmarkResults } from '../core/results';
import { getJson, putCanonicalJson } from '../core/store/json';
import type { PlannedCell } from '../core/plan';
import { needsShards } from '../workflows/pipeline';
import { writeRunRecords } from '../core/run-records';
import type { ArtifactRef, ArtifactStore } from '../core/store/types';
import { validateSpec } from '../spec';
import type { ActivityRuntime } from './activity-context';
import type {
  AggregateInput,
  AggregateOutput,
  BenchmarkInput,
  CellBatchTask,
  CellOutcome,
  CellTask,
  FinalizeInput,
  FinalizeOutput,
  ResolvedBenchmark,
} from './types';

const HEARTBEAT_INTERVAL_MS = 1000;

export interface ActivityDeps {
  readonly store: ArtifactStore;
  readonly runtime: ActivityRuntime;
  /** Identity recorded with every cell this process computes. */
  readonly workerIdentity: string;
}

/**
 * Heartbeats cost a server round trip each: send at most one a second, enough for liveness (the
 * heartbeat timeout is seconds) and for cancellation to get through.
 */
function throttledHeartbeat(runtime: ActivityRuntime): (details?: Record<string, unknown>) => void {
  let last = performance.now();
  return (details) => {
    if (performance.now() - last >= HEARTBEAT_INTERVAL_MS) {
      last = performance.now();
      runtime.heartbeat(details);
    }
  };
}

/** Bad input becomes a non-retryable failure carrying its kind; anything else is left to Temporal's retries. */
async function classifyErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TempestInputError) throw ApplicationFailure.nonRetryable(error.message, error.kind);
    throw error;
  }
}

/** The benchmark's activities: each reads artifacts, calls core, writes artifacts, and heartbeats. */
export function createBenchmarkActivities(deps: ActivityDeps) {
  const { store, runtime } = deps;
  const resources = new BenchmarkResources(store);

  /** Evaluate a batch's cells in order into `outcomes`, reusing any whose key was computed before. */
  async function runBatch(
    task: CellBatchTask,
    outcomes: CellOutcome[],
    computedBy: { worker: string; attempt: number },
    heartbeat: (details?: Record<string, unknown>) => void,
  ): Promise<CellOutcome[]> {
    for (const cell of task.cells) {
      const startedAt = new Date().toISOString();
      const base = { index: cell.index, key: cell.key, ...computedBy, startedAt };
      const finished = await findFinishedCell(store, cell.key);
      if (finished && !task.recompute) {
        outcomes.push({
          ...base,
          cached: true,
          result: finished,
          computeMs: 0,
          finishedAt: new Date().toISOString(),
        });
        continue;
      }
      const cpuBefore = process.cpuUsage();
      const { result, computeMs } = await computeAndStoreCell({
        resources,
        planSha256: task.planSha256,
        index: cell.index,
        key: cell.key,
        computedBy,
        onBatch: (samplesDone) => heartbeat({ cellsDone: outcomes.length, samplesDone }),
      });
      const cpu = process.cpuUsage(cpuBefore);
      outcomes.push({
        ...base,
        cached: false,
        result,
        computeMs,
        finishedAt: new Date().toISOString(),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        // maxRSS is in kilobytes: the process's peak so far, an upper bound for this cell.
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
        ...(finished && finished.sha256 !== result.sha256 && { differedFrom: finished.sha256 }),
      });
      heartbeat({ cellsDone: outcomes.length });
    }
    return outcomes;
  }

  return {
    /** Hash and store models and data, check they fit together, and expand the spec into cells. */
    async resolveBenchmark(input: BenchmarkInput): Promise<ResolvedBenchmark> {
      return classifyErrors(async () => {
        const spec = validateSpec(input.spec, input.specSource);
        const { plan, planRef } = await resolveBenchmarkPlan({
          spec,
          baseDir: input.baseDir,
          store,
          runner: resources.runnerFor(threadSettingsOf(spec)),
          onStage: (stage) => runtime.heartbeat({ stage }),
        });
        // A sharded sweep keeps the cell list out of every history: shards read it from the plan.
        const sharded = needsShards(plan.cells.length, spec.execution);
        return {
          plan: planRef,
          specHash: plan.specHash,
          recompute: plan.recompute,
          cells: sharded ? [] : plan.cells.map(cellTaskOf),
          cellCount: plan.cells.length,
        };
      });
    },

    /** The cells of one shard, read from the stored plan. */
    async shardCells(input: { plan: ArtifactRef; start: number; end: number }): Promise<CellTask[]> {
      return classifyErrors(async () => {
        const plan = await resources.plan(input.plan.sha256);
        return plan.cells.slice(input.start, input.end).map(cellTaskOf);
      });
    },

    /** A shard's cell outcomes as one stored artifact, so no workflow history carries them twice. */
    async storeOutcomes(input: { outcomes: readonly CellOutcome[] }): Promise<ArtifactRef> {
      return putCanonicalJson(store, input.outcomes);
    },

    /** Evaluate a batch of cells in order, reusing any whose key was computed before. */
    async runCells(task: CellBatchTask): Promise<CellOutcome[]> {
      return classifyErrors(async () => {
        const computedBy = { worker: deps.workerIdentity, attempt: runtime.attempt() };
        const heartbeat = throttledHeartbeat(runtime);
        const outcomes: CellOutcome[] = [];
        // Heartbeat on a timer too, not only between sample batches: while a store call waits out
        // an S3 outage on its retries, this live worker keeps its batch, instead of the heartbeat
        // timeout starting a second attempt that computes the same in-flight cell again. A dead
        // process or a blocked event loop still stops the heartbeats.
        const keepAlive = setInterval(() => heartbeat({ cellsDone: outcomes.length }), HEARTBEAT_INTERVAL_MS);
        try {
          return await runBatch(task, outcomes, computedBy, heartbeat);
        } finally {
          clearInterval(keepAlive);
        }
      });
    },

    /** Gather every cell's stored result into results.json. */
    async aggregateResults(input: AggregateInput): Promise<AggregateOutput> {
      return classifyErrors(async () => {
        const heartbeat = throttledHeartbeat(runtime);
        const { results, ref } = await aggregateStoredResults(
          resources,
          await resources.plan(input.plan.sha256),
          async () => {
            heartbeat({ stage: 'evaluation' });
            // Let the worker's event loop deliver the heartbeat and serve other tasks between cells.
            await new Promise<void>((resolve) => setImmediate(resolve));
          },
        );
        return {
          results: ref,
          summary: results.summary.map((row) => ({
            model: row.model,
            condition: row.condition,
            replicates: row.replicates,
            accuracy: row.accuracy.mean,
          })),
        };
      });
    },

    /** Write provenance.json and report.md for a finished run, and deliver drift alerts. */
    async finalizeRun(input: FinalizeInput): Promise<FinalizeOutput> {
      return classifyErrors(async () => {
        // Sharded sweeps pass their outcomes as stored lists, one per shard, in plan order.
        const outcomesOf = async (finish: FinalizeInput): Promise<readonly CellOutcome[]> => {
          if (!finish.shardOutcomes) return finish.outcomes;
          const lists = await Promise.all(
            finish.shardOutcomes.map((ref) => getJson<CellOutcome[]>(store, ref.sha256)),
          );
          return lists.flat();
        };
        const plan = await resources.plan(input.plan.sha256);
        if (plan.drift?.alerts) {
          const results = await getJson<BenchmarkResults>(store, input.results.sha256);
          await deliverAlerts(input.run.runId, results.drift?.alerts ?? [], plan.drift.alerts);
        }
        return writeRunRecords({
          store,
          plan,
          planRef: input.plan,
          resultsRef: input.results,
          spec: { source: input.input.specSource, text: input.input.specText },
          run: input.run,
          cells: (await outcomesOf(input)).map((outcome) => ({
            index: outcome.index,
            key: outcome.key,
            cached: outcome.cached,
            computeMs: outcome.computeMs,
            worker: outcome.worker,
            attempt: outcome.attempt,
            startedAt: outcome.startedAt,
            finishedAt: outcome.finishedAt,
            result: outcome.result.sha256,
            resultRef: outcome.result,
            ...(outcome.cpuMs !== undefined && { cpuMs: outcome.cpuMs }),
            ...(outcome.peakRssBytes !== undefined && { peakRssBytes: outcome.peakRssBytes }),
            ...(outcome.differedFrom !== undefined && { differedFrom: outcome.differedFrom }),
          })),
        });
      });
    },
  };
}

/** A plan cell as the workflow sees it: index, key, a readable label, and whether it is an attack. */
function cellTaskOf(cell: PlannedCell): CellTask {
  return {
    index: cell.index,
    key: cell.key,
    label: `${cell.modelId} / ${cell.condition}${cell.seed === null ? '' : ` / seed ${cell.seed}`}`,
    ...(cell.transform.kind === 'attack' && { attack: true as const }),
  };
}

export type BenchmarkActivities = ReturnType<typeof createBenchmarkActivities>;
