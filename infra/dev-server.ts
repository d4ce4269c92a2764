import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs, openSync, closeSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type { ResolveTemporalCliOptions, TemporalCli } from './temporal-cli';
import { firstLine, resolveTemporalCli } from './temporal-cli';

const LOOPBACK = '127.0.0.1';
const DEFAULT_NAMESPACE = 'default';
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
const PROBE_TIMEOUT_MS = 2_000;
const POLL_INTERVAL_MS = 100;
// A port picked free can be taken by someone else before the server binds it; pick again.
const MAX_START_ATTEMPTS_ON_PORT_CLASH = 3;

export interface StartDevServerOptions {
  /** Holds temporal.db (the durable state), server.log, and server.json naming the live server. */
  stateDir: string;
  /** gRPC port; default: a free port on 127.0.0.1. */
  port?: number;
  /** Web UI port when not headless; default: a free port. */
  uiPort?: number;
  /** Default true. False also serves the Web UI (on 127.0.0.1). */
  headless?: boolean;
  /** Namespace created at startup besides "default" (always created); readiness waits for it. */
  namespace?: string;
  /** More `temporal server start-dev` flags, e.g. ['--dynamic-config-value', 'K=V']. */
  extraArgs?: string[];
  /** Default `<stateDir>/server.log`; appended to across restarts. */
  logFile?: string;
  /** A CLI already resolved; default: resolveTemporalCli(resolve). */
  cli?: TemporalCli;
  resolve?: ResolveTemporalCliOptions;
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
}

export interface DevServer {
  /** host:port for Connection.connect / NativeConnection.connect. */
  address: string;
  port: number;
  pid: number;
  namespace: string;
  /** Set when the Web UI is served. */
  uiUrl?: string;
  stateDir: string;
  logFile: string;
  cli: TemporalCli;
  /** True when this process started the server; only the owner's stop() stops it. */
  owned: boolean;
  stop(): Promise<void>;
}

/** Contents of `<stateDir>/server.json`: lets other processes find and reuse the live server. */
interface ServerRecord {
  pid: number;
  port: number;
  address: string;
  namespace: string;
  uiUrl?: string;
  logFile: string;
  startedAt: string;
  cli: TemporalCli;
}

export class DevServerStartError extends Error {
  override readonly name: string = 'DevServerStartError';
}

export class PortInUseError extends DevServerStartError {
  override readonly name = 'PortInUseError';
}

/**
 * Starts `temporal server start-dev` on 127.0.0.1 with its state in `<stateDir>/temporal.db`,
 * and resolves once the namespace answers. Refuses when a live server already uses stateDir:
 * two servers on one SQLite file corrupt each other (use connectOrStartDevServer to share).
 */
export async function startDevServer(options: StartDevServerOptions): Promise<DevServer> {
  const cli = options.cli ?? (await resolveTemporalCli(options.resolve));
  await fs.mkdir(options.stateDir, { recursive: true });
  return withStartLock(options, async () => {
    const live = await findLiveServer(options.stateDir);
    if (live) {
      throw new DevServerStartError(
        `A Temporal dev server (pid ${live.pid}, ${live.address}) already uses ${options.stateDir}. ` +
          'Use connectOrStartDevServer to share it, or stop it first.',
      );
    }
    return startOwnedServer({ ...options, cli });
  });
}

/**
 * Returns the live server recorded in `<stateDir>/server.json` (owned: false, stop() does
 * nothing) or starts one. Options other than stateDir only apply when a server is started.
 */
export async function connectOrStartDevServer(options: StartDevServerOptions): Promise<DevServer> {
  const live = await findLiveServer(options.stateDir);
  if (live) return live;
  // Resolve (and maybe install) before taking the lock so others are not held up by an install.
  const cli = options.cli ?? (await resolveTemporalCli(options.resolve));
  await fs.mkdir(options.stateDir, { recursive: true });
  return withStartLock(options, async () => {
    return (await findLiveServer(options.stateDir)) ?? startOwnedServer({ ...options, cli });
  });
}

// ---- starting ----

async function startOwnedServer(options: StartDevServerOptions & { cli: TemporalCli }): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      return await startOnPort(options, port);
    } catch (error) {
      const mayRetry = options.port === undefined && attempt < MAX_START_ATTEMPTS_ON_PORT_CLASH;
      const portClash =
        error instanceof PortInUseError ||
        (error instanceof DevServerStartError && /address already in use/i.test(error.message));
      if (!(mayRetry && portClash)) {
        throw error;
      }
    }
  }
}

async function startOnPort(
  options: StartDevServerOptions & { cli: TemporalCli },
  port: number,
): Promise<DevServer> {
  const { stateDir, cli } = options;
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const logFile = options.logFile ?? path.join(stateDir, 'server.log');
  const uiPort = options.headless === false ? (options.uiPort ?? (await findFreePort())) : undefined;
  const args = startDevArgs({ stateDir, port, uiPort, namespace, extraArgs: options.extraArgs ?? [] });
  const address = `${LOOPBACK}:${port}`;

  // Otherwise the readiness probe could mistake whoever holds the port for our server.
  if (await acceptsTcp(port)) {
    throw new PortInUseError(
      `Port ${port} on ${LOOPBACK} is already in use: choose another port, or omit it to get a free one.`,
    );
  }
  const logStart = await fileSize(logFile);
  const child = spawnWithLog(cli.path, args, logFile, stateDir);
  const pid = await spawnedPid(child, cli.path);
  trackOwnedChild(child);
  const stop = memoize(() => stopOwnedServer(child, stateDir, options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS));
  try {
    await waitUntilReady(child, port, namespace, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (error) {
    await stop();
    const tail = await logTail(logFile, logStart);
    throw new DevServerStartError(
      `Temporal dev server (${cli.path} ${args.join(' ')}) did not become ready: ${firstLine(error)}\n` +
        `Last lines of ${logFile}:\n${tail || '(empty)'}`,
    );
  }
  const uiUrl = uiPort === undefined ? undefined : `http://${LOOPBACK}:${uiPort}`;
  const record: ServerRecord = {
    pid,
    port,
    address,
    namespace,
    uiUrl,
    logFile,
    startedAt: new Date().toISOString(),
    cli,
  };
  await fs.writeFile(recordFile(stateDir), JSON.stringify(record, null, 2) + '\n');
  return { address, port, pid, namespace, uiUrl, stateDir, logFile, cli, owned: true, stop };
}

function startDevArgs(settings: {
  stateDir: string;
  port: number;
  uiPort?: number;
  namespace: string;
  extraArgs: string[];
}): string[] {
  const { stateDir, port, uiPort, namespace, extraArgs } = settings;
  const ui = uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)];
  return [
    ...['server', 'start-dev', '--db-filename', path.join(stateDir, 'temporal.db')],
    ...['--ip', LOOPBACK, '--port', String(port), ...ui],
    ...['--namespace', namespace, '--log-level', 'warn', ...extraArgs],
  ];
}

/**
 * Not detached: the server stays in our process group, so Ctrl-C reaches it too, and the exit
 * hook (trackOwnedChild) ends it if the owner exits without calling stop().
 */
function spawnWithLog(executable: string, args: string[], logFile: string, cwd: string): ChildProcess {
  const logFd = openSync(logFile, 'a');
  try {
    writeSync(logFd, `\n--- ${new Date().toISOString()} tempest starts: ${executable} ${args.join(' ')}\n`);
    return spawn(executable, args, { cwd, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
}

async function spawnedPid(child: ChildProcess, executable: string): Promise<number> {
  if (child.pid !== undefined) return child.pid;
  const [error] = (await once(child, 'error')) as [Error];
  throw new DevServerStartError(`Could not run ${executable}: ${error.message}`);
}

async function waitUntilReady(child: ChildProcess, port: number, namespace: string, timeoutMs: number) {
  const address = `${LOOPBACK}:${port}`;
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (hasExited(child)) {
      throw new Error(
        `the server exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready`,
      );
    }
    // A refused TCP connect answers in microseconds; a gRPC probe of a closed port waits out its
    // reconnect backoff, which would add a second to every start.
    const problem = (await acceptsTcp(port))
      ? await whyNotAnswering(address, namespace)
      : 'port not open yet';
    if (problem === undefined) return;
    lastProblem = problem;
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(`no answer from ${address} within ${timeoutMs / 1000} s (last: ${lastProblem})`);
}

/** Undefined when `address` serves `namespace`; otherwise why not. Never retries on its own. */
async function whyNotAnswering(address: string, namespace: string): Promise<string | undefined> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: PROBE_TIMEOUT_MS, interceptors: [] });
    const service = connection.workflowService;
    await connection.withDeadline(Date.now() + PROBE_TIMEOUT_MS, () =>
      service.describeNamespace({ namespace }),
    );
    return undefined;
  } catch (error) {
    return firstLine(error);
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

// ---- stopping ----

async function stopOwnedServer(child: ChildProcess, stateDir: string, graceMs: number): Promise<void> {
  await terminate(child, graceMs);
  await forgetRecordOf(child.pid, stateDir);
}

/** SIGTERM lets the server close SQLite cleanly; SIGKILL only if it hangs past the grace period. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (hasExited(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

const ownedChildren = new Set<ChildProcess>();

/** A server must not outlive the process that owns it, even when stop() was never reached. */
function trackOwnedChild(child: ChildProcess): void {
  if (ownedChildren.size === 0) process.once('exit', terminateOwnedChildrenOnExit);
  ownedChildren.add(child);
  child.once('exit', () => {
    ownedChildren.delete(child);
    if (ownedChildren.size === 0) process.removeListener('exit', terminateOwnedChildrenOnExit);
  });
}

function terminateOwnedChildrenOnExit(): void {
  for (const child of ownedChildren) child.kill('SIGTERM');
}

// ---- server.json: finding a live server ----

function recordFile(stateDir: string): string {
  return path.join(stateDir, 'server.json');
}

async function findLiveServer(stateDir: string): Promise<DevServer | undefined> {
  const record = await readRecord(stateDir);
  if (!record || !isProcessAlive(record.pid)) return undefined;
  if ((await whyNotAnswering(record.address, record.namespace)) !== undefined) return undefined;
  const { address, port, pid, namespace, uiUrl, logFile, cli } = record;
  return { address, port, pid, namespace, uiUrl, stateDir, logFile, cli, owned: false, stop: async () => {} };
}

async function readRecord(stateDir: string): Promise<ServerRecord | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(recordFile(stateDir), 'utf8')) as Partial<ServerRecord>;
    const valid =
      typeof parsed.pid === 'number' &&
      typeof parsed.port === 'number' &&
      typeof parsed.address === 'string' &&
      typeof parsed.namespace === 'string' &&
      typeof parsed.cli?.path === 'string';
    return valid ? (parsed as ServerRecord) : undefined;
  } catch {
    return undefined; // missing or half-written: treat as no server
  }
}

async function forgetRecordOf(pid: number | undefined, stateDir: string): Promise<void> {
  const record = await readRecord(stateDir);
  if (record?.pid === pid) await fs.rm(recordFile(stateDir), { force: true });
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

// ---- the start lock: one starter per stateDir at a time ----

/**
 * Two processes that both find no live server must not both start one on the same SQLite file:
 * the second waits for the first, then finds its server.json.
 */
async function withStartLock<T>(options: StartDevServerOptions, start: () => Promise<T>): Promise<T> {
  const lockFile = path.join(options.stateDir, 'server.lock');
  const timeoutMs = 2 * (options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS) + 30_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await tryCreateLock(lockFile))) {
    if (Date.now() > deadline) {
      throw new DevServerStartError(
        `Timed out after ${timeoutMs / 1000} s waiting for another process to start the dev server in ` +
          `${options.stateDir}. If no Tempest process is running, delete ${lockFile}.`,
      );
    }
    await sleep(200);
  }
  try {
    return await start();
  } finally {
    await fs.rm(lockFile, { force: true });
  }
}

/** True when we now hold the lock; a lock left by a dead process is removed. */
async function tryCreateLock(lockFile: string): Promise<boolean> {
  try {
    await fs.writeFile(lockFile, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number(await fs.readFile(lockFile, 'utf8').catch(() => ''));
  // An empty file is a lock being written right now, unless it has been empty for a while.
  const abandoned = holder > 0 ? !isProcessAlive(holder) : await isOlderThan(lockFile, 5_000);
  if (abandoned) await fs.rm(lockFile, { force: true });
  return false;
}

// ---- small helpers ----

function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    const settle = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => settle(false));
    socket.once('connect', () => settle(true));
    socket.once('error', () => settle(false));
  });
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function fileSize(file: string): Promise<number> {
  return (await fs.stat(file).catch(() => undefined))?.size ?? 0;
}

async function isOlderThan(file: string, ageMs: number): Promise<boolean> {
  const stats = await fs.stat(file).catch(() => undefined);
  return stats !== undefined && Date.now() - stats.mtimeMs > ageMs;
}

/** The last lines the server wrote since `fromByte`, to explain a failed start. */
async function logTail(logFile: string, fromByte: number, maxLines = 30): Promise<string> {
  const bytes = await fs.readFile(logFile).catch(() => Buffer.alloc(0));
  return bytes.subarray(fromByte).toString('utf8').trimEnd().split('\n').slice(-maxLines).join('\n');
}

function memoize(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
