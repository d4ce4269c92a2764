import {
  connectionSecurity,
  resolveTemporalTarget,
  type TemporalConnectionFlags,
  type TemporalTarget,
} from '../../client/temporal-connection';
import { openArtifactStore } from '../../core/store/open';
import { connectOrStartDevServer } from '../../infra/dev-server';
import { installWorkerLogging, withBenchmarkWorker } from '../../workers/benchmark-worker';
import { payloadEncryption, type PayloadKeyOptions } from '../payload-keys';
import { defaultArtifactsDir, embeddedServerDir } from '../state';

/** Where a worker polls when neither --address nor TEMPORAL_ADDRESS says: a local cluster. */
const DEFAULT_WORKER_ADDRESS = '127.0.0.1:7233';

export interface WorkerCommandOptions extends PayloadKeyOptions, TemporalConnectionFlags {
  readonly taskQueue: string;
  readonly artifacts?: string;
  readonly maxConcurrentCells: number;
  /** Use (start or reuse) the embedded dev server of `tempest run` instead of --address. */
  readonly embedded?: boolean;
  /** Poll for activities only (a dedicated attack queue); no workflow code is loaded. */
  readonly activitiesOnly?: boolean;
}

/** A standalone worker for a cluster: runs until SIGINT/SIGTERM, then finishes its current tasks. */
export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const { keyring, dataConverter } = await payloadEncryption(options);
  // TLS files are read and checked before anything starts. With --embedded, TEMPORAL_ADDRESS and
  // the TLS variables describe some other cluster: only the namespace is taken from the environment.
  const target = options.embedded
    ? resolveTemporalTarget(options, { TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE })
    : resolveTemporalTarget(options, process.env, { address: DEFAULT_WORKER_ADDRESS });
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  installWorkerLogging('INFO');
  // The embedded server listens on a port picked at start; schedules created without --address
  // live there, and this worker (which keeps the server up while it runs) executes their runs.
  const server = options.embedded
    ? await connectOrStartDevServer({ stateDir: embeddedServerDir() })
    : undefined;
  try {
    await runWorker(
      options,
      { ...target, address: server?.address ?? target.address },
      store,
      keyring,
      dataConverter,
    );
  } finally {
    await server?.stop();
  }
  return 0;
}

async function runWorker(
  options: WorkerCommandOptions,
  target: TemporalTarget,
  store: ReturnType<typeof openArtifactStore>,
  keyring: Awaited<ReturnType<typeof payloadEncryption>>['keyring'],
  dataConverter: Awaited<ReturnType<typeof payloadEncryption>>['dataConverter'],
): Promise<void> {
  await withBenchmarkWorker(
    {
      address: target.address!,
      connection: target.connection,
      namespace: target.namespace,
      taskQueue: options.taskQueue,
      store,
      dataConverter,
      maxConcurrentActivities: options.maxConcurrentCells,
      activitiesOnly: options.activitiesOnly,
    },
    async (worker) => {
      console.log(
        `tempest worker ${process.pid} polling ${options.taskQueue}${options.activitiesOnly ? ' (activities only)' : ''} on ${target.address} (${connectionSecurity(target.connection)}, namespace ${target.namespace}), artifacts ${store.uri}, ` +
          (keyring ? `payloads encrypted with key ${keyring.current}` : 'payloads not encrypted'),
      );
      await worker.run();
    },
  );
}
