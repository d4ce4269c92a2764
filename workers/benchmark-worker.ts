import { hostname } from 'node:os';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { createBenchmarkActivities } from '../activities/benchmark-activities';
import { temporalActivityRuntime } from '../activities/activity-context';
import { explainConnectionFailure, type TemporalConnectionOptions } from '../client/temporal-connection';
import type { ArtifactStore } from '../core/store/types';
import { workflowCodeOptions } from './workflow-code';

export const DEFAULT_TASK_QUEUE = 'tempest-benchmarks';

export interface BenchmarkWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly store: ArtifactStore;
  /** Cells evaluated at once by this process; ORT runs each with its own fixed thread count. */
  readonly maxConcurrentActivities: number;
  readonly identity?: string;
  /**
   * Payload codecs (encryption) applied outside the workflow sandbox, so the prebuilt workflow
   * bundle is the same with and without them.
   */
  readonly dataConverter?: DataConverter;
  /**
   * Poll for activities only (no workflow code): a worker for a dedicated queue such as the
   * spec's `execution.attackTaskQueue`, where only cell batches are sent.
   */
  readonly activitiesOnly?: boolean;
}

/**
 * Set the Temporal runtime's log level; must run before the first worker or native connection.
 * `tempest run` keeps the terminal for the progress bar (WARN); `tempest worker` logs like a service (INFO).
 */
let loggingInstalled = false;
export function installWorkerLogging(level: LogLevel): void {
  if (loggingInstalled) return;
  Runtime.install({ logger: new DefaultLogger(level) });
  loggingInstalled = true;
}

export function workerIdentity(): string {
  return `${process.pid}@${hostname()}`;
}

/** A Temporal worker that runs benchmark workflows and their activities against one artifact store. */
export async function createBenchmarkWorker(options: BenchmarkWorkerOptions): Promise<Worker> {
  const identity = options.identity ?? workerIdentity();
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    identity,
    dataConverter: options.dataConverter,
    ...(!options.activitiesOnly && workflowCodeOptions()),
    activities: createBenchmarkActivities({
      store: options.store,
      runtime: temporalActivityRuntime,
      workerIdentity: identity,
    }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities,
    shutdownGraceTime: '10 seconds',
  });
}

/**
 * Connect to `address` (with TLS and an API key when `connection` says so, exactly as the client
 * does), create a benchmark worker, hand it to `use` (which decides how long it runs:
 * `worker.run()` until a signal, `worker.runUntil(promise)`), and close the connection after.
 * With `attackTaskQueue`, an activities-only worker polls that queue too for as long as `use` runs,
 * so a single process can run a spec that sends its attack cells to their own queue.
 */
export async function withBenchmarkWorker<T>(
  options: Omit<BenchmarkWorkerOptions, 'connection'> & {
    readonly address: string;
    readonly attackTaskQueue?: string;
    readonly connection?: TemporalConnectionOptions;
  },
  use: (worker: Worker) => Promise<T>,
): Promise<T> {
  const { address, connection: connectionOptions = {}, ...workerOptions } = options;
  const connection = await NativeConnection.connect({ address, ...connectionOptions }).catch(
    async (error: unknown) => {
      throw await explainConnectionFailure(error, address, connectionOptions, 'check --address');
    },
  );
  try {
    const { attackTaskQueue, ...mainOptions } = workerOptions;
    const worker = await createBenchmarkWorker({ ...mainOptions, connection });
    if (!attackTaskQueue || attackTaskQueue === mainOptions.taskQueue) return await use(worker);
    const attacks = await createBenchmarkWorker({
      ...mainOptions,
      connection,
      taskQueue: attackTaskQueue,
      activitiesOnly: true,
    });
    const attacksRunning = attacks.run();
    try {
      return await use(worker);
    } finally {
      attacks.shutdown();
      await attacksRunning;
    }
  } finally {
    await connection.close();
  }
}
