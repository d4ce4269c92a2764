import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, s3ClientFor, startS3Server, type S3Server } from '../infra/s3-server';
import { killSpawnedTempests, runTempest, tempDir } from './helpers/cli';
import { startOutageRelay, type S3Outage } from './helpers/s3';

const QUICK = 'examples/mnist-quick.yaml';
const QUICK_CELLS = 14;
const BUCKET = 'tempest-cli-test';
const OUTAGE_MS = 30_000;
/** Cells in the store when the outage starts. */
const OUTAGE_AFTER_CELLS = 3;

let server: S3Server;
let relay: S3Outage;
let raw: S3Client;
let home: string;
/** results.json of the quick example computed with the local folder store: the reference bytes. */
let reference: Buffer;
let localSeconds = '';

beforeAll(async () => {
  server = await startS3Server();
  await createBucket(server, BUCKET);
  raw = s3ClientFor(server);
  // CLIs reach S3 through the relay (s3Env), so a test can cut the line under a live run.
  relay = await startOutageRelay(server.port);
  home = await tempDir('s3-cli');
  const local = await runTempest(
    [
      'run',
      QUICK,
      '--executor',
      'local',
      '--artifacts',
      join(home, 'artifacts'),
      '--out',
      join(home, 'local'),
    ],
    { TEMPEST_HOME: home },
  );
  expect(local.code, local.stderr).toBe(0);
  reference = await readFile(join(home, 'local', 'results.json'));
  localSeconds = secondsOf(local.stdout);
}, 600_000);

afterAll(async () => {
  killSpawnedTempests();
  raw?.destroy();
  await relay?.close();
  await server?.stop();
});

/** The run time the CLI reports in its summary line. */
function secondsOf(stdout: string): string {
  return /cache hits\) in ([\d.]+ s)/.exec(stdout)?.[1] ?? '?';
}

function s3Env(): Record<string, string> {
  return { ...server.env, AWS_ENDPOINT_URL_S3: relay.endpoint, TEMPEST_HOME: home };
}

async function objectCount(prefix: string): Promise<number> {
  const listed = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }));
  return listed.KeyCount ?? 0;
}

describe('tempest run --artifacts s3://', () => {
  it('gives the local folder run results.json byte for byte, and reuses every cell on the second run', async () => {
    const artifacts = `s3://${BUCKET}/team-a`;
    const before = relay.bytesFromClients();
    const first = await runTempest(
      ['run', QUICK, '--executor', 'local', '--artifacts', artifacts, '--out', join(home, 's3-first')],
      s3Env(),
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(
      `completed: ${QUICK_CELLS}/${QUICK_CELLS} cells (${QUICK_CELLS} computed, 0 cache hits)`,
    );
    const bytesPerRun = relay.bytesFromClients() - before;
    expect((await readFile(join(home, 's3-first', 'results.json'))).equals(reference)).toBe(true);
    expect(await objectCount('team-a')).toBeGreaterThan(QUICK_CELLS);

    const second = await runTempest(
      ['run', QUICK, '--executor', 'local', '--artifacts', artifacts, '--out', join(home, 's3-second')],
      s3Env(),
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(
      `completed: ${QUICK_CELLS}/${QUICK_CELLS} cells (0 computed, ${QUICK_CELLS} cache hits)`,
    );
    expect((await readFile(join(home, 's3-second', 'results.json'))).equals(reference)).toBe(true);
    console.log(
      `quick example, local executor: local folder ${localSeconds}; S3 ${secondsOf(first.stdout)} computing ` +
        `(${(bytesPerRun / 1024 / 1024).toFixed(1)} MiB sent), ${secondsOf(second.stdout)} from cache`,
    );
  });

  it('says what to fix for a missing bucket or wrong credentials (exit 2)', async () => {
    const run = (artifacts: string, env: Record<string, string>) =>
      runTempest(
        ['run', QUICK, '--executor', 'local', '--artifacts', artifacts, '--out', join(home, 'bad')],
        env,
      );
    const noBucket = await run('s3://no-such-bucket-x/p', s3Env());
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toMatch(
      /S3 bucket no-such-bucket-x does not exist at http:\/\/127\.0\.0\.1:\d+\. Create it/,
    );
    const wrongSecret = await run(`s3://${BUCKET}/team-a`, {
      ...s3Env(),
      AWS_SECRET_ACCESS_KEY: 'not-the-secret',
    });
    expect(wrongSecret.code).toBe(2);
    expect(wrongSecret.stderr).toContain(`S3 refused access to bucket ${BUCKET} at ${relay.endpoint}`);
    expect(wrongSecret.stderr).toContain('AWS_SECRET_ACCESS_KEY');
    expect(wrongSecret.stderr).not.toContain('not-the-secret');
  });

  it('finishes a Temporal run across a 30 s S3 outage (refused connections) with identical results', async () => {
    const prefix = 'outage-refused';
    const outage = await runAcrossOutage(prefix, s3Env(), {
      begin: () => relay.cut(),
      whileDown: async () => {
        const probe = fetch(`${relay.endpoint}/`, { signal: AbortSignal.timeout(2_000) });
        await expect(probe).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
      },
      end: () => relay.restore(),
    });
    console.log(`S3 line cut (connections refused) ${outage}`);
  }, 240_000);

  it('finishes a Temporal run across a 30 s S3 server stop (process frozen) with identical results', async () => {
    const prefix = 'outage-stopped';
    // Straight to the server, no relay: what hangs is the S3 server process itself.
    const env = { ...server.env, TEMPEST_HOME: home };
    const outage = await runAcrossOutage(prefix, env, {
      begin: async () => server.pause(),
      whileDown: async () => {
        // Really stopped: the kernel takes the connection, but the process neither reads nor answers.
        if (process.platform === 'linux') {
          const stat = await readFile(`/proc/${server.pid}/stat`, 'utf8');
          expect(stat.slice(stat.lastIndexOf(')') + 2)[0], 'process state').toBe('T');
        }
        const probe = fetch(`${server.endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2_000) });
        await expect(probe).rejects.toThrow(/timeout|aborted/i);
      },
      end: async () => server.resume(),
    });
    console.log(`S3 server stopped (SIGSTOP, nothing answers) ${outage}`);
  }, 240_000);
});

interface Outage {
  begin(): Promise<void>;
  /** Checks that S3 is really down, run at the start of the outage (within its OUTAGE_MS). */
  whileDown?(): Promise<void>;
  end(): Promise<void>;
}

/**
 * Run the quick example on Temporal into s3://BUCKET/<prefix>, take S3 away for OUTAGE_MS while
 * cells are being computed, and check that the run completes with the undisturbed results.json
 * bytes, no cell lost and no completed cell computed again. Returns the figures, for the log.
 */
async function runAcrossOutage(prefix: string, env: Record<string, string>, outage: Outage): Promise<string> {
  const out = join(home, prefix);
  const started = Date.now();
  let finished = false;
  const run = runTempest(
    ['run', QUICK, '--artifacts', `s3://${BUCKET}/${prefix}`, '--out', out],
    env,
    200_000,
  ).finally(() => (finished = true));
  // Mid-sweep: once a few cells are in the store. (A share of the bytes a run sends is no guide:
  // two thirds of them are the dataset and models, uploaded before the first cell starts.)
  const cellsIndexed = () => keysUnder(`${prefix}/index/cells/`);
  while (!finished && (await cellsIndexed()).length < OUTAGE_AFTER_CELLS) await sleep(50);
  expect(finished, 'the run ended before the outage could start').toBe(false);
  const outageAt = Date.now() - started;
  // Cells whose result is in the store when S3 goes away: completed, never to be computed again.
  const completed = (await cellsIndexed()).map((name) => name.replace(/\.json$/, ''));
  expect(completed.length, 'the outage must start while cells are being computed').toBeLessThan(QUICK_CELLS);
  const down = Date.now();
  await outage.begin();
  try {
    await outage.whileDown?.();
    await sleep(OUTAGE_MS - (Date.now() - down));
    // The run cannot finish without its store: it must still be waiting when S3 comes back.
    expect(finished, 'the run ended during the outage').toBe(false);
  } finally {
    await outage.end();
  }
  const result = await run;
  const took = Date.now() - started;
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain(`completed: ${QUICK_CELLS}/${QUICK_CELLS} cells`);
  expect((await readFile(join(out, 'results.json'))).equals(reference)).toBe(true);
  // Every finished computation of a cell leaves one event in the store. Nothing lost: every cell
  // has one. Nothing computed twice: exactly one each, the cells stored before the outage included.
  // (Activities heartbeat on a timer while the store retries, so the 30 s heartbeat timeout does
  // not start a second attempt beside a live one that is waiting out the outage.)
  const computations = countBy(
    await keysUnder(`${prefix}/events/computations/`),
    (name) => name.split('/')[0],
  );
  expect(computations.size, 'cells with a computation').toBe(QUICK_CELLS);
  expect(
    completed.map((key) => computations.get(key)),
    'computations of completed cells',
  ).toEqual(completed.map(() => 1));
  expect([...computations.values()], 'computations per cell').toEqual(
    [...computations.values()].map(() => 1),
  );
  const summary = /\((\d+ computed, \d+ cache hits)\)/.exec(result.stdout)?.[1] ?? '?';
  const { counts } = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as {
    counts: { retried: number };
  };
  return (
    `${(outageAt / 1000).toFixed(1)} s into the run (${completed.length}/${QUICK_CELLS} cells stored) ` +
    `for ${OUTAGE_MS / 1000} s; run took ${(took / 1000).toFixed(1)} s (${summary}, ` +
    `${counts.retried} cells from a retried activity); every cell computed once; results.json identical`
  );
}

/** Names of the objects under a prefix (without it), listed on the server directly. */
async function keysUnder(prefix: string): Promise<string[]> {
  const names: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const listed = await raw.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken }),
    );
    for (const { Key } of listed.Contents ?? []) if (Key) names.push(Key.slice(prefix.length));
    ContinuationToken = listed.NextContinuationToken;
  } while (ContinuationToken);
  return names;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
