import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { packageRoot } from '../core/package-root';
import { createS3Client } from '../core/store/s3-client';
import { findFreePort, terminate } from './dev-server';
import { firstLine } from './temporal-cli';

/**
 * A real S3-compatible server on 127.0.0.1 for tests and local trials: moto's server (Apache-2.0),
 * pip-installed into a project venv on first use, pinned so every machine serves the same API.
 */
export const PINNED_MOTO_VERSION = '5.2.5';
const MOTO_REQUIREMENT = `moto[server]==${PINNED_MOTO_VERSION}`;

const LOOPBACK = '127.0.0.1';
const INSTALL_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const REGION = 'us-east-1';

const run = promisify(execFile);

export interface S3ServerCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface S3Server {
  /** http://127.0.0.1:<port>, for AWS_ENDPOINT_URL_S3. */
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  readonly region: string;
  /** The only credentials the server accepts: requests signed with any others are refused. */
  readonly credentials: S3ServerCredentials;
  readonly logFile: string;
  /** The AWS variables a client (the tempest CLI, an SDK) needs to use this server. */
  readonly env: Record<string, string>;
  /**
   * Freeze the server process (SIGSTOP) with its data: its port stays open, so the kernel still
   * accepts connections into the listen backlog, but nothing reads or answers them, as with a
   * hung S3 endpoint. Clients must time out and retry.
   */
  pause(): void;
  /** Let a paused server run again (SIGCONT): it answers what queued up meanwhile. */
  resume(): void;
  stop(): Promise<void>;
}

export interface StartS3ServerOptions {
  /** Default: a free port. */
  readonly port?: number;
  /** The venv moto lives in. Default: <repo>/.tempest/s3-venv. */
  readonly venvDir?: string;
  /** Default: <repo>/.tempest/s3-server/moto-<port>.log. */
  readonly logFile?: string;
  readonly readyTimeoutMs?: number;
  readonly log?: (message: string) => void;
}

export function defaultVenvDir(): string {
  return path.join(packageRoot(), '.tempest', 's3-venv');
}

function venvPython(venvDir: string): string {
  return path.join(venvDir, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
}

async function installedMotoVersion(venvDir: string): Promise<string | undefined> {
  if (!existsSync(venvPython(venvDir))) return undefined;
  try {
    const { stdout } = await run(venvPython(venvDir), [
      '-c',
      'import moto.server, moto; print(moto.__version__)',
    ]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Make sure the pinned moto server is installed and return the venv's python. The venv is
 * built in a staging folder and renamed into place, so test files installing at the same time
 * never see a half-built one (we only ever run `python -m`, which survives the rename).
 */
export async function ensureMotoInstalled(
  venvDir = defaultVenvDir(),
  log: (message: string) => void = (message) => process.stderr.write(`${message}\n`),
): Promise<string> {
  if ((await installedMotoVersion(venvDir)) === PINNED_MOTO_VERSION) return venvPython(venvDir);
  const staging = `${venvDir}.staging-${process.pid}-${Date.now()}`;
  log(`Installing ${MOTO_REQUIREMENT} into ${venvDir} (once; about a minute) ...`);
  try {
    await run('python3', ['-m', 'venv', staging], { timeout: INSTALL_TIMEOUT_MS });
    await run(
      venvPython(staging),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', MOTO_REQUIREMENT],
      { timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
    );
    if ((await installedMotoVersion(venvDir)) !== PINNED_MOTO_VERSION) {
      await fs.rm(venvDir, { recursive: true, force: true });
      await fs.rename(staging, venvDir);
    }
  } catch (error) {
    throw new Error(
      `Could not install ${MOTO_REQUIREMENT} into ${venvDir}: ${firstLine(error)}. ` +
        'It needs python3 with the venv module (Debian: apt-get install python3-venv) and access to PyPI; ' +
        `or install it by hand: python3 -m venv ${venvDir} && ${venvPython(venvDir)} -m pip install '${MOTO_REQUIREMENT}'`,
      { cause: error },
    );
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  return venvPython(venvDir);
}

/**
 * Start moto's server on 127.0.0.1, wait until it answers, and switch on its authentication with
 * one freshly created IAM user, so that wrong credentials are refused as AWS refuses them.
 */
export async function startS3Server(options: StartS3ServerOptions = {}): Promise<S3Server> {
  const python = await ensureMotoInstalled(options.venvDir, options.log);
  const port = options.port ?? (await findFreePort());
  const endpoint = `http://${LOOPBACK}:${port}`;
  const logFile = options.logFile ?? path.join(packageRoot(), '.tempest', 's3-server', `moto-${port}.log`);
  await fs.mkdir(path.dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(python, ['-m', 'moto.server', '-H', LOOPBACK, '-p', String(port)], {
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, MOTO_PORT: String(port) },
    });
  } finally {
    closeSync(logFd);
  }
  // python runs moto in this one process (no reloader, no workers), so signals reach the server itself.
  const signal = (name: 'SIGSTOP' | 'SIGCONT') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  const stop = () => {
    signal('SIGCONT'); // a stopped process would hold SIGTERM until continued
    return terminate(child, STOP_GRACE_MS);
  };
  stopOnExit(child);
  try {
    await waitUntilAnswering(child, endpoint, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    const credentials = await enforceFreshCredentials(endpoint);
    return {
      endpoint,
      port,
      pid: child.pid ?? -1,
      region: REGION,
      credentials,
      logFile,
      env: {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
      pause: () => signal('SIGSTOP'),
      resume: () => signal('SIGCONT'),
      stop,
    };
  } catch (error) {
    await stop();
    const tail = (await fs.readFile(logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-20);
    throw new Error(`moto S3 server on ${endpoint} did not start: ${firstLine(error)}\n${tail.join('\n')}`, {
      cause: error,
    });
  }
}

async function waitUntilAnswering(child: ChildProcess, endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      lastProblem = firstLine(error);
    }
    await sleep(100);
  }
  throw new Error(`no answer within ${timeoutMs / 1000} s (last: ${lastProblem})`);
}

/**
 * moto accepts any credentials until told otherwise. Create a user with an allow-all policy
 * while it still does, then make it check every request's signature from then on.
 */
async function enforceFreshCredentials(endpoint: string): Promise<S3ServerCredentials> {
  // moto routes a request to a service by the credential scope of its Authorization header.
  const iam = async (params: Record<string, string>) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=setup/20260101/${REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: new URLSearchParams({ ...params, Version: '2010-05-08' }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`IAM ${params.Action} failed: HTTP ${response.status} ${text}`);
    return text;
  };
  const UserName = 'tempest';
  await iam({ Action: 'CreateUser', UserName });
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  await iam({ Action: 'PutUserPolicy', UserName, PolicyName: 'all', PolicyDocument: JSON.stringify(policy) });
  const created = await iam({ Action: 'CreateAccessKey', UserName });
  const accessKeyId = /<AccessKeyId>([^<]+)</.exec(created)?.[1];
  const secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(created)?.[1];
  if (!accessKeyId || !secretAccessKey) throw new Error(`unexpected CreateAccessKey answer: ${created}`);
  const enforced = await fetch(`${endpoint}/moto-api/reset-auth`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: '0',
  });
  if (!enforced.ok) throw new Error(`could not enable authentication: HTTP ${enforced.status}`);
  return { accessKeyId, secretAccessKey };
}

/** The server must not outlive its owner, even one that exits without calling stop(). */
function stopOnExit(child: ChildProcess): void {
  const kill = () => {
    child.kill('SIGTERM');
    child.kill('SIGCONT');
  };
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

/** A plain client of the server (with its credentials), for setting up what a store expects to exist. */
export function s3ClientFor(
  server: S3Server,
  credentials: S3ServerCredentials = server.credentials,
): S3Client {
  return createS3Client(server.endpoint, { credentials });
}

export async function createBucket(server: S3Server, bucket: string): Promise<void> {
  const client = s3ClientFor(server);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}

/** `node dist/infra/s3-server.js [bucket...]`: a local S3 server for trying Tempest's S3 store by hand. */
async function main(buckets: readonly string[]): Promise<void> {
  const server = await startS3Server();
  for (const bucket of buckets) await createBucket(server, bucket);
  console.log(
    `moto S3 server (pid ${server.pid}) on ${server.endpoint}; buckets: ${buckets.join(', ') || 'none'}`,
  );
  console.log('In another shell:');
  for (const [name, value] of Object.entries(server.env)) console.log(`  export ${name}=${value}`);
  console.log('Ctrl-C stops it (its data lives in memory and goes with it).');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`s3-server: ${String(error)}`);
    process.exitCode = 1;
  });
}
