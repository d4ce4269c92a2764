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
const OUTAGE_MS = 20_000;

let server: S3Server;
let relay: S3Outage;
let raw: S3Client;
let home: string;
/** results.json of the quick example computed with the local folder store: the reference bytes. */
let reference: Buffer;
/** Bytes clients sent to S3 during one full computation of the quick example. */
let bytesPerRun = 0;
let localSeconds = '';

beforeAll(async () => {
  server = await startS3Server();
  await createBucket(server, BUCKET);
  raw = s3ClientFor(server);
  // Every CLI reaches S3 through the relay, so the outage test can cut the line under a live run.
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
    bytesPerRun = relay.bytesFromClients() - before;
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

  it('finishes a Temporal run across a 20 s S3 outage with identical results', async () => {
    expect(bytesPerRun).toBeGreaterThan(0); // measured by the first test
    const started = Date.now();
    const before = relay.bytesFromClients();
    let finished = false;
    const run = runTempest(
      ['run', QUICK, '--artifacts', `s3://${BUCKET}/outage`, '--out', join(home, 'outage')],
      s3Env(),
      300_000,
    ).finally(() => (finished = true));
    // Cut the line once the run has written about a third of what a full run writes: mid-run.
    while (!finished && relay.bytesFromClients() - before < bytesPerRun / 3) await sleep(50);
    expect(finished, 'the run ended before the outage could start').toBe(false);
    const cutAt = Date.now() - started;
    await relay.cut();
    await sleep(OUTAGE_MS);
    // The run cannot finish without its store: it must still be waiting when the line comes back.
    expect(finished, 'the run ended during the outage').toBe(false);
    await relay.restore();
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`completed: ${QUICK_CELLS}/${QUICK_CELLS} cells`);
    expect((await readFile(join(home, 'outage', 'results.json'))).equals(reference)).toBe(true);
    console.log(
      `outage run: line cut ${(cutAt / 1000).toFixed(1)} s in for ${OUTAGE_MS / 1000} s; run took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 360_000);
});
