import { openArtifactStore } from '../../core/store/open';
import { installWorkerLogging, withBenchmarkWorker } from '../../workers/benchmark-worker';
import { payloadEncryption, type PayloadKeyOptions } from '../payload-keys';
import { defaultArtifactsDir } from '../state';

export interface WorkerCommandOptions extends PayloadKeyOptions {
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly artifacts?: string;
  readonly maxConcurrentCells: number;
}

/** A standalone worker for a cluster: runs until SIGINT/SIGTERM, then finishes its current tasks. */
export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const { keyring, dataConverter } = await payloadEncryption(options);
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  installWorkerLogging('INFO');
  await withBenchmarkWorker(
    {
      address: options.address,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      store,
      dataConverter,
      maxConcurrentActivities: options.maxConcurrentCells,
    },
    async (worker) => {
      console.log(
        `tempest worker ${process.pid} polling ${options.taskQueue} on ${options.address} (namespace ${options.namespace}), artifacts ${store.uri}, ` +
          (keyring ? `payloads encrypted with key ${keyring.current}` : 'payloads not encrypted'),
      );
      await worker.run();
    },
  );
  return 0;
}
