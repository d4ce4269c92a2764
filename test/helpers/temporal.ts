import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import type { BenchmarkInput } from '../../activities/types';
import { readBenchmarkInput } from '../../cli/spec-file';
import type { ArtifactStore } from '../../core/store/types';
import { startDevServer, type DevServer } from '../../infra/dev-server';
import { installWorkerLogging, withBenchmarkWorker } from '../../workers/benchmark-worker';
import { REPO_ROOT, tempDir } from './cli';

export interface TestTemporal {
  readonly server: DevServer;
  readonly client: Client;
  readonly address: string;
  close(): Promise<void>;
}

/** A real Temporal dev server for one test file, with its own state folder, and a client. */
export async function startTestTemporal(extraArgs: string[] = []): Promise<TestTemporal> {
  const server = await startDevServer({ stateDir: await tempDir('temporal'), extraArgs });
  const connection = await Connection.connect({ address: server.address });
  return {
    server,
    address: server.address,
    client: new Client({ connection, namespace: 'default' }),
    async close() {
      await connection.close();
      await server.stop();
    },
  };
}

/**
 * One dev server for the calling test file: started before its tests, stopped after. Returns a
 * getter because the server only exists once the hook has run.
 */
export function useTestTemporal(extraArgs: string[] = []): () => TestTemporal {
  let temporal: TestTemporal | undefined;
  beforeAll(async () => {
    temporal = await startTestTemporal(extraArgs);
  });
  afterAll(async () => {
    await temporal?.close();
  });
  return () => {
    if (!temporal) throw new Error('the test Temporal server is not started (use it inside a test)');
    return temporal;
  };
}

/** Run `use` with a worker in this process (the test's own) on its own task queue. */
export function withTestWorker<T>(
  address: string,
  taskQueue: string,
  store: ArtifactStore,
  use: (worker: Worker) => Promise<T>,
  maxConcurrentActivities = 2,
): Promise<T> {
  installWorkerLogging('WARN');
  return withBenchmarkWorker(
    { address, namespace: 'default', taskQueue, store, maxConcurrentActivities },
    use,
  );
}

/** Write a spec file using the example models (absolute paths) followed by `body`. */
export async function writeExampleSpec(body: string): Promise<string> {
  const dir = await tempDir('spec');
  const path = join(dir, 'spec.yaml');
  const models = join(REPO_ROOT, 'examples', 'models');
  await writeFile(
    path,
    `apiVersion: tempest/v1
models:
  - { id: mlp, path: ${join(models, 'mnist-mlp.onnx')} }
  - { id: cnn, path: ${join(models, 'mnist-cnn.onnx')} }
${body}`,
  );
  return path;
}

/** The workflow input of an example-model spec with `body`. */
export async function exampleInput(body: string): Promise<BenchmarkInput> {
  return readBenchmarkInput(await writeExampleSpec(body));
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
