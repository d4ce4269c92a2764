import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import type { BenchmarkInput, BenchmarkOutcome } from '../../activities/types';
import type { ArtifactStore } from '../../core/store/types';
import { openArtifactStore } from '../../core/store/open';
import { runBenchmarkLocally } from '../../client/local-run';
import { writeChecksums, writeRunOutputs, type RunHistories } from '../../client/outputs';
import { evaluateGate } from '../../core/gate';
import { BenchmarkResources } from '../../core/resources';
import { servingGate } from '../../core/serving/report';
import { measureRunServing, type ServingReport } from '../../core/serving/run';
import { loadSigningKey } from '../../core/provenance/signature';
import {
  resolveTemporalTarget,
  type TemporalConnectionFlags,
  type TemporalTarget,
} from '../../client/temporal-connection';
import { fetchRunHistories, followBenchmark, startBenchmark } from '../../client/temporal-run';
import { installWorkerLogging, withBenchmarkWorker } from '../../workers/benchmark-worker';
import { payloadEncryption, type PayloadEncryption, type PayloadKeyOptions } from '../payload-keys';
import { ProgressDisplay } from '../progress';
import { readBenchmarkInput } from '../spec-file';
import { defaultArtifactsDir } from '../state';
import { openTemporalSession } from '../temporal-session';

export interface RunOptions extends PayloadKeyOptions, TemporalConnectionFlags {
  readonly out?: string;
  readonly taskQueue: string;
  readonly executor: 'temporal' | 'local';
  readonly artifacts?: string;
  /** With --address: also run a worker in this process (the embedded mode always does). */
  readonly worker: boolean;
  readonly maxConcurrentCells?: number;
  readonly signKey?: string;
}

/** Exit code after Ctrl-C: the conventional 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

interface FinishedRun {
  readonly outcome: BenchmarkOutcome;
  readonly label: string;
  readonly histories?: RunHistories;
}

export async function runCommand(specPath: string, options: RunOptions): Promise<number> {
  const input = await readBenchmarkInput(specPath);
  // Load the keys before running, so a bad key fails in a second rather than after the sweep.
  const signingKey = await loadSigningKey(options.signKey);
  // A bad key file is bad input: refuse before anything starts, like a bad spec.
  const encryption = options.executor === 'local' ? {} : await payloadEncryption(options);
  // So are unreadable or mismatched TLS files: read and checked now, before connecting.
  const target = options.executor === 'local' ? undefined : resolveTemporalTarget(options);
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  const outDir = options.out ?? join('tempest-results', input.spec.name);
  const display = new ProgressDisplay();
  const started = Date.now();
  let run: FinishedRun;
  try {
    run =
      options.executor === 'local'
        ? await runLocally(input, store, display)
        : await runOnTemporal(input, store, display, options, target!, encryption);
  } catch (error) {
    if (error instanceof RunInterruptedError) {
      display.stop();
      console.error(`\ntempest: interrupted. ${error.message}`);
      return EXIT_INTERRUPTED;
    }
    throw error;
  } finally {
    display.stop();
  }
  printSummary(run.outcome, run.label, (Date.now() - started) / 1000);
  const serving =
    run.outcome.status === 'completed' ? await measureServing(input, store, run.outcome) : undefined;
  const files = await writeRunOutputs(store, run.outcome, outDir, run.histories, { signingKey, serving });
  for (const file of files) console.log(`wrote ${file}`);
  if (run.outcome.status !== 'completed') return 3;
  return checkGates(input, store, outDir, signingKey, serving);
}

/**
 * The spec's `serving:` section, on the finished run's plan, in this process (for both executors:
 * latency is a property of the machine that serves, so it is measured here, after the sweep, when
 * nothing else competes for the cores).
 */
async function measureServing(
  input: BenchmarkInput,
  store: ArtifactStore,
  outcome: BenchmarkOutcome,
): Promise<ServingReport | undefined> {
  if (!input.spec.serving || !outcome.plan) return undefined;
  const resources = new BenchmarkResources(store);
  try {
    return await measureRunServing({
      resources,
      planSha256: outcome.plan.sha256,
      serving: input.spec.serving,
      onProgress: (message) => process.stderr.write(`${message}\n`),
    });
  } finally {
    await resources.close();
  }
}

/**
 * The spec's own gates on the finished run folder: the inline gate (spec v2 `gate:`) and the
 * serving latency budget. Both go into one gate.md; exit 1 when either fails.
 */
async function checkGates(
  input: BenchmarkInput,
  store: ArtifactStore,
  outDir: string,
  signingKey: Awaited<ReturnType<typeof loadSigningKey>>,
  serving: ServingReport | undefined,
): Promise<number> {
  const outcomes: { passed: boolean; markdown: string }[] = [];
  if (input.spec.gate) {
    outcomes.push(
      await evaluateGate(
        store,
        outDir,
        { apiVersion: 'tempest.gate/v1', ...input.spec.gate },
        join(input.baseDir, input.specSource),
      ),
    );
  }
  const latency = serving && servingGate(serving);
  if (latency) outcomes.push(latency);
  if (outcomes.length === 0) return 0;
  const markdown = outcomes.map((outcome) => outcome.markdown).join('\n');
  console.log(`\n${markdown}`);
  await writeFile(join(outDir, 'gate.md'), markdown);
  await writeChecksums(outDir, signingKey);
  return outcomes.every((outcome) => outcome.passed) ? 0 : 1;
}

class RunInterruptedError extends Error {}

async function runLocally(
  input: BenchmarkInput,
  store: ArtifactStore,
  display: ProgressDisplay,
): Promise<FinishedRun> {
  const outcome = await runBenchmarkLocally(input, store, {
    onProgress: (progress) => display.update(progress),
  });
  return { outcome, label: 'local executor (in-process, not durable)' };
}

/**
 * Start (or attach to) the workflow and follow it, with an in-process worker unless the cells run
 * on a cluster's workers. Ctrl-C stops this process, not the run: the workflow stays on the
 * server, and running the same spec again attaches to it and finishes it.
 */
async function runOnTemporal(
  input: BenchmarkInput,
  store: ArtifactStore,
  display: ProgressDisplay,
  options: RunOptions,
  target: TemporalTarget,
  encryption: PayloadEncryption,
): Promise<FinishedRun> {
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const session = await openTemporalSession({ ...target, dataConverter: encryption.dataConverter });
  try {
    const handle = await startBenchmark(session.client, input, { taskQueue: options.taskQueue });
    process.stderr.write(
      `workflow ${handle.workflowId} on ${session.server ? `embedded Temporal ${session.address}` : session.address}\n`,
    );
    const follow = followBenchmark(handle, (progress) => display.update(progress), {
      signal: interrupt.signal,
    });
    let outcome: BenchmarkOutcome;
    try {
      if (!target.address || options.worker) {
        // Failures reach the user through the run's outcome; per-attempt worker warnings are noise here.
        installWorkerLogging('ERROR');
        outcome = await withBenchmarkWorker(
          {
            address: session.address,
            // The worker connects exactly as the client did: same TLS, same API key.
            connection: target.connection,
            namespace: target.namespace,
            taskQueue: options.taskQueue,
            attackTaskQueue: input.spec.execution.attackTaskQueue,
            store,
            dataConverter: encryption.dataConverter,
            maxConcurrentActivities:
              options.maxConcurrentCells ??
              Math.min(input.spec.execution.concurrency, availableParallelism()),
          },
          (worker) => worker.runUntil(follow),
        );
      } else {
        outcome = await follow;
      }
    } catch (error) {
      if (!interrupt.signal.aborted) throw error;
      follow.catch(() => undefined);
      throw new RunInterruptedError(
        `Workflow ${handle.workflowId} is kept on the server with every finished cell; ` +
          'run the same command again to resume it.',
      );
    }
    return {
      outcome,
      // The server's histories as stored: with a payload key their payloads stay encrypted, and
      // `tempest replay` decrypts them with the same key.
      histories: await fetchRunHistories(handle, outcome),
      label: `workflow ${handle.workflowId}, run ${(await handle.describe()).runId}`,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.close();
  }
}

function printSummary(outcome: BenchmarkOutcome, runLabel: string, seconds: number): void {
  const models = [...new Set(outcome.summary.map((row) => row.model))];
  const conditions = [...new Set(outcome.summary.map((row) => row.condition))];
  const table = new Table({ head: ['accuracy', ...models] });
  for (const condition of conditions) {
    table.push([
      condition,
      ...models.map((model) => {
        const row = outcome.summary.find((entry) => entry.model === model && entry.condition === condition);
        return row
          ? `${(row.accuracy * 100).toFixed(2)}%${row.replicates > 1 ? ` (n=${row.replicates})` : ''}`
          : '–';
      }),
    ]);
  }
  if (conditions.length > 0) console.log(table.toString());
  const { total, done, cached } = outcome.cells;
  console.log(
    `${outcome.status}: ${done}/${total} cells (${done - cached} computed, ${cached} cache hits) in ${seconds.toFixed(1)} s; ${runLabel}`,
  );
}
