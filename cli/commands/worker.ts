import { openArtifactStore } from '../../core/store/open';
import { connectOrStartDevServer } from '../../infra/dev-server';
import { installWorkerLogging, withBenchmarkWorker } from '../../workers/benchmark-worker';
import { payloadEncryption, type PayloadKeyOptions } from '../payload-keys';
import { defaultArtifactsDir, embeddedServerDir } from '../state';

export interface WorkerCommandOptions extends PayloadKeyOptions {
  readonly address: string;
  readonly namespace: string;
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
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  installWorkerLogging('INFO');
  // The embedded server listens on a port picked at start; schedules created without --address
  // live there, and this worker (which keeps the server up while it runs) executes their runs.
  const server = options.embedded
    ? await connectOrStartDevServer({ stateDir: embeddedServerDir() })
    : undefined;
  try {
    await runWorker(
      { ...options, address: server?.address ?? options.address },
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
  store: ReturnType<typeof openArtifactStore>,
  keyring: Awaited<ReturnType<typeof payloadEncryption>>['keyring'],
  dataConverter: Awaited<ReturnType<typeof payloadEncryption>>['dataConverter'],
): Promise<void> {
  await withBenchmarkWorker(
    {
      address: options.address,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      store,
      dataConverter,
      maxConcurrentActivities: options.maxConcurrentCells,
      activitiesOnly: options.activitiesOnly,
    },
    async (worker) => {
      console.log(
        `tempest worker ${process.pid} polling ${options.taskQueue}${options.activitiesOnly ? ' (activities only)' : ''} on ${options.address} (namespace ${options.namespace}), artifacts ${store.uri}, ` +
          (keyring ? `payloads encrypted with key ${keyring.current}` : 'payloads not encrypted'),
      );
      await worker.run();
    },
  );
}
