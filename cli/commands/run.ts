import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import Table from 'cli-table3';
import type { BenchmarkOutcome } from '../../activities/types';
import { openArtifactStore } from '../../core/store/open';
import { runBenchmarkLocally } from '../../client/local-run';
import { writeRunOutputs } from '../../client/outputs';
import { followBenchmark, startBenchmark } from '../../client/temporal-run';
import {
  DEFAULT_TASK_QUEUE,
  installWorkerLogging,
  withBenchmarkWorker,
} from '../../workers/benchmark-worker';
import { ProgressDisplay } from '../progress';
import { readBenchmarkInput } from '../spec-file';
import { defaultArtifactsDir } from '../state';
import { openTemporalSession } from '../temporal-session';

export interface RunOptions {
  readonly out?: string;
  readonly address?: string;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly executor: 'temporal' | 'local';
  readonly artifacts?: string;
  /** With --address: also run a worker in this process (the embedded mode always does). */
  readonly worker: boolean;
  readonly maxConcurrentCells?: number;
}

export async function runCommand(specPath: string, options: RunOptions): Promise<number> {
  const input = await readBenchmarkInput(specPath);
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  const outDir = options.out ?? join('tempest-results', input.spec.name);
  const display = new ProgressDisplay();
  const started = Date.now();
  let outcome: BenchmarkOutcome;
  let history: string | undefined;
  let runLabel: string;
  try {
    if (options.executor === 'local') {
      outcome = await runBenchmarkLocally(input, store, {
        onProgress: (progress) => display.update(progress),
      });
      runLabel = 'local executor (in-process, not durable)';
    } else {
      const session = await openTemporalSession({ address: options.address, namespace: options.namespace });
      try {
        const handle = await startBenchmark(session.client, input, {
          taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
        });
        process.stderr.write(
          `workflow ${handle.workflowId} on ${session.server ? `embedded Temporal ${session.address}` : session.address}\n`,
        );
        const follow = followBenchmark(handle, (progress) => display.update(progress));
        if (!options.address || options.worker) {
          installWorkerLogging('WARN');
          outcome = await withBenchmarkWorker(
            {
              address: session.address,
              namespace: options.namespace,
              taskQueue: options.taskQueue,
              store,
              maxConcurrentActivities:
                options.maxConcurrentCells ??
                Math.min(input.spec.execution.concurrency, availableParallelism()),
            },
            (worker) => worker.runUntil(follow),
          );
        } else {
          outcome = await follow;
        }
        history = historyToJSON(await handle.fetchHistory());
        const description = await handle.describe();
        runLabel = `workflow ${handle.workflowId}, run ${description.runId}`;
      } finally {
        await session.close();
      }
    }
  } finally {
    display.stop();
  }
  const files = await writeRunOutputs(store, outcome, outDir, history);
  printSummary(outcome, runLabel, (Date.now() - started) / 1000);
  for (const file of files) console.log(`wrote ${file}`);
  return outcome.status === 'completed' ? 0 : 3;
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
