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
    ...workflowCodeOptions(),
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
 */
export async function withBenchmarkWorker<T>(
  options: Omit<BenchmarkWorkerOptions, 'connection'> & {
    readonly address: string;
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
    return await use(await createBenchmarkWorker({ ...workerOptions, connection }));
  } finally {
    await connection.close();
  }
}
