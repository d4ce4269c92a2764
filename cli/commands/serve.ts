import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveTemporalTarget, type TemporalConnectionFlags } from '../../client/temporal-connection';
import { TempestInputError } from '../../core/errors';
import { openArtifactStore } from '../../core/store/open';
import { DEFAULT_MAX_BODY_BYTES, startApiServer } from '../../server/api';
import { RunService } from '../../server/runs';
import { installWorkerLogging, withBenchmarkWorker } from '../../workers/benchmark-worker';
import { payloadEncryption, type PayloadKeyOptions } from '../payload-keys';
import { benchmarkInputFromText } from '../spec-file';
import { defaultArtifactsDir } from '../state';
import { openTemporalSession } from '../temporal-session';

export const API_TOKEN_ENV = 'TEMPEST_API_TOKEN';
export const DEFAULT_API_PORT = 8787;

export interface ServeOptions extends PayloadKeyOptions, TemporalConnectionFlags {
  readonly port: number;
  readonly taskQueue: string;
  readonly artifacts?: string;
  readonly worker: boolean;
  readonly tokenFile?: string;
  readonly specsDir?: string;
  readonly outDir?: string;
  readonly maxBodyBytes?: number;
  readonly maxConcurrentCells?: number;
}

async function readToken(tokenFile: string | undefined): Promise<string> {
  const token = tokenFile
    ? (
        await readFile(tokenFile, 'utf8').catch(() => {
          throw new TempestInputError(`cannot read API token file ${tokenFile}`);
        })
      ).trim()
    : process.env[API_TOKEN_ENV]?.trim();
  if (!token) {
    throw new TempestInputError(
      `tempest serve needs a bearer token: --token-file FILE or ${API_TOKEN_ENV} ` +
        '(any long random string, e.g. `openssl rand -hex 32`)',
    );
  }
  return token;
}

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

/**
 * The HTTP API until SIGINT/SIGTERM: on the embedded dev server with an in-process worker (like
 * `tempest run`), or on the cluster at --address, with a worker here only with --worker.
 */
export async function serveCommand(options: ServeOptions): Promise<number> {
  // Everything a user can get wrong is checked before a server or worker starts.
  const token = await readToken(options.tokenFile);
  const { dataConverter } = await payloadEncryption(options);
  const target = resolveTemporalTarget(options);
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  const specsDir = resolve(options.specsDir ?? '.');
  const outDir = resolve(options.outDir ?? join('tempest-results', 'api'));

  const session = await openTemporalSession({ ...target, dataConverter });
  let release!: () => void;
  const stop = new Promise<void>((done) => (release = done));
  process.once('SIGINT', release);
  process.once('SIGTERM', release);
  let worker: Promise<void> | undefined;
  try {
    if (!target.address || options.worker) {
      installWorkerLogging('WARN');
      let ready!: () => void;
      const created = new Promise<void>((done) => (ready = done));
      worker = withBenchmarkWorker(
        {
          address: session.address,
          connection: target.connection,
          namespace: target.namespace,
          taskQueue: options.taskQueue,
          store,
          dataConverter,
          // Benchmarks of any size arrive here: a fixed share of the machine, not one spec's concurrency.
          maxConcurrentActivities:
            options.maxConcurrentCells ?? Math.max(1, Math.min(4, availableParallelism())),
        },
        async (created) => {
          ready();
          await created.runUntil(stop);
        },
      );
      // A worker that cannot start (bad bundle, unreachable server) fails the command at once.
      await Promise.race([created, worker]);
    }
    const runs = new RunService({
      client: session.client,
      taskQueue: options.taskQueue,
      store,
      outDir,
      log,
    });
    const api = await startApiServer({
      runs,
      token,
      port: options.port,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      checkSpec: (text, format) =>
        benchmarkInputFromText(text, `api-request.${format}`, specsDir, `(request body)`),
      log,
    }).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EADDRINUSE'
        ? new TempestInputError(`port ${options.port} is in use on 127.0.0.1; pick another with --port`)
        : error;
    });
    console.log(
      `tempest API on ${api.url} (Temporal ${session.server ? `embedded ${session.address}` : session.address}, ` +
        `task queue ${options.taskQueue}, ${worker ? 'worker in this process' : 'cluster workers'}, ` +
        `specs from ${specsDir}, run folders in ${outDir}, artifacts ${store.uri})`,
    );
    // A worker that stops on its own (e.g. lost its server) leaves the API unable to run anything.
    const workerEnded = worker?.then(() => {
      throw new Error('the in-process worker stopped; restart tempest serve');
    });
    await (workerEnded ? Promise.race([stop, workerEnded]) : stop);
    log('stopping');
    await api.close();
    await runs.close();
    return 0;
  } finally {
    // runUntil(stop) ends the worker once stop resolves; on an early error, stop it the same way.
    release();
    process.off('SIGINT', release);
    process.off('SIGTERM', release);
    await worker?.catch(() => undefined);
    await session.close();
  }
}
