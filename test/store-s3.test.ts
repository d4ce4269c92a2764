import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactCorruptedError, ArtifactNotFoundError, TempestInputError } from '../core/errors';
import { sha256Hex } from '../core/hash';
import { LocalArtifactStore } from '../core/store/local';
import { openArtifactStore } from '../core/store/open';
import { S3ArtifactStore, type S3StoreOptions } from '../core/store/s3';
import { createS3Client } from '../core/store/s3-client';
import type { ArtifactStore } from '../core/store/types';
import { findFreePort } from '../infra/dev-server';
import { createBucket, s3ClientFor, startS3Server, type S3Server } from '../infra/s3-server';
import { recordCommands } from './helpers/s3';

const BUCKET = 'tempest-store-test';
const MiB = 1024 * 1024;
const bytes = (text: string) => new TextEncoder().encode(text);

/** Deterministic, incompressible-looking bytes (a hash chain), so sizes mean what they say. */
function pseudoRandomBytes(length: number, seed: string): Uint8Array {
  const out = new Uint8Array(length);
  let block = Buffer.from(sha256Hex(seed), 'hex');
  for (let offset = 0; offset < length; offset += block.length) {
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset);
    block = Buffer.from(sha256Hex(block), 'hex');
  }
  return out;
}

let server: S3Server;
let raw: S3Client;
const savedEnv = { ...process.env };
let prefixCount = 0;

beforeAll(async () => {
  // Installs moto into .tempest/s3-venv on a fresh machine (about a minute), hence the long timeout.
  server = await startS3Server();
  // The store reads endpoint, region and credentials the way users give them: the AWS environment.
  Object.assign(process.env, server.env);
  raw = s3ClientFor(server);
  await createBucket(server, BUCKET);
}, 600_000);

afterAll(async () => {
  process.env = savedEnv;
  raw?.destroy();
  await server?.stop();
});

/** A store under a fresh prefix, with a client whose commands the test can see. */
function freshStore(options: Omit<S3StoreOptions, 'client'> = {}) {
  const client = createS3Client(server.endpoint);
  const sent = recordCommands(client);
  const prefix = `run-${process.pid}-${++prefixCount}`;
  const store = new S3ArtifactStore(`s3://${BUCKET}/${prefix}`, { ...options, client });
  return { store, sent, prefix };
}

describe('S3 artifact store (moto server)', () => {
  it('opens s3:// locations from openArtifactStore, with the local folder still the default', () => {
    const store = openArtifactStore(`s3://${BUCKET}/team/runs/`);
    expect(store).toBeInstanceOf(S3ArtifactStore);
    expect(store.uri).toBe(`s3://${BUCKET}/team/runs`);
    expect(openArtifactStore(join(tmpdir(), 'x'))).toBeInstanceOf(LocalArtifactStore);
    expect(openArtifactStore(`s3://${BUCKET}`).uri).toBe(`s3://${BUCKET}`);
    expect(() => openArtifactStore('s3://Bad_Bucket/x')).toThrow(/not a valid S3 bucket name/);
    expect(() => openArtifactStore(`s3://${BUCKET}/a/../b`)).toThrow(/empty, "\." or "\.\." segment/);
    expect(() => openArtifactStore('gs://bucket/x')).toThrow(/s3:\/\/bucket\/prefix/);
  });

  it('round-trips blobs under their sha256, in the local store layout', async () => {
    const { store, prefix } = freshStore();
    const ref = await store.putBlob(bytes('hello tempest'), 'text/plain');
    expect(ref).toEqual({ sha256: sha256Hex('hello tempest'), size: 13, mediaType: 'text/plain' });
    expect(new TextDecoder().decode(await store.getBlob(ref.sha256))).toBe('hello tempest');
    expect(await store.hasBlob(ref.sha256)).toBe(true);
    expect(await store.hasBlob(sha256Hex('never stored'))).toBe(false);
    const key = `${prefix}/blobs/sha256/${ref.sha256.slice(0, 2)}/${ref.sha256}`;
    const object = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(object.ContentType).toBe('text/plain');
    expect(await object.Body?.transformToString()).toBe('hello tempest');
    await expect(store.getBlob(sha256Hex('never stored'))).rejects.toBeInstanceOf(ArtifactNotFoundError);
  });

  it('does not upload again what is already stored intact', async () => {
    const { store, sent } = freshStore();
    const first = await store.putBlob(bytes('same content'), 'text/plain');
    expect(sent).toEqual(['HeadObjectCommand', 'PutObjectCommand']);
    sent.length = 0;
    expect(await store.putBlob(bytes('same content'), 'text/plain')).toEqual(first);
    expect(sent).toEqual(['HeadObjectCommand']);
  });

  it('uploads a large blob in parts, reads it back verified, and recognises it later', async () => {
    const { store, sent } = freshStore({
      uploadSizes: { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB },
    });
    const blob = pseudoRandomBytes(12_000_000, 'multipart');
    const ref = await store.putBlob(blob, 'application/octet-stream');
    expect(sent.filter((name) => name === 'UploadPartCommand')).toHaveLength(3);
    expect(sent).toContain('CompleteMultipartUploadCommand');
    expect(sha256Hex(await store.getBlob(ref.sha256))).toBe(ref.sha256);
    sent.length = 0;
    await store.putBlob(blob, 'application/octet-stream');
    // S3's composite checksum of the parts vouches for the stored object: no download, no upload.
    expect(sent).toEqual(['HeadObjectCommand']);
  });

  it('detects an object overwritten behind its back, naming its key, and repairs it on the next put', async () => {
    const { store, prefix } = freshStore();
    const ref = await store.putBlob(bytes('original content'), 'text/plain');
    const key = `${prefix}/blobs/sha256/${ref.sha256.slice(0, 2)}/${ref.sha256}`;
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'tampered content' }));
    const error = await store.getBlob(ref.sha256).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ArtifactCorruptedError);
    expect((error as ArtifactCorruptedError).message).toContain(`s3://${BUCKET}/${key}`);
    expect((error as ArtifactCorruptedError).actualSha256).toBe(sha256Hex('tampered content'));
    await store.putBlob(bytes('original content'), 'text/plain');
    expect(new TextDecoder().decode(await store.getBlob(ref.sha256))).toBe('original content');
  });

  it('maps index keys to blobs and keeps append-only events', async () => {
    const { store } = freshStore();
    const ref = await store.putBlob(bytes('{"x":1}'), 'application/json');
    const key = 'a'.repeat(64);
    expect(await store.getIndex('cells', key)).toBeUndefined();
    await store.setIndex('cells', key, ref);
    expect(await store.getIndex('cells', key)).toEqual(ref);
    expect(await store.listEvents('computations', key)).toEqual([]);
    await Promise.all([1, 2, 3].map((n) => store.appendEvent('computations', key, { n })));
    const events = await store.listEvents('computations', key);
    expect(events.map((event) => event.n).sort()).toEqual([1, 2, 3]);
    await expect(store.setIndex('cells', '../../escape', ref)).rejects.toThrow(/unsafe artifact key/);
  });

  it('refuses bad credentials at once, saying what to check', async () => {
    const cases = [
      { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever' },
      { accessKeyId: server.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
    ];
    for (const credentials of cases) {
      const store = new S3ArtifactStore(`s3://${BUCKET}/denied`, {
        endpoint: server.endpoint,
        client: s3ClientFor(server, credentials),
      });
      const started = Date.now();
      const error = await store.putBlob(bytes('x'), 'text/plain').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TempestInputError);
      expect((error as TempestInputError).kind).toBe('S3AccessDenied');
      expect((error as Error).message).toContain(`bucket ${BUCKET} at ${server.endpoint}`);
      expect((error as Error).message).toContain('AWS_ACCESS_KEY_ID');
      expect(Date.now() - started).toBeLessThan(5_000); // not retried
    }
  });

  it('says what to set when no region or no credentials are configured', async () => {
    const saved = { ...process.env };
    try {
      for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
      // Nothing to find in files, and no instance-metadata probe off this machine.
      Object.assign(process.env, {
        AWS_CONFIG_FILE: join(tmpdir(), 'tempest-no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'tempest-no-aws-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      const noRegion = await new S3ArtifactStore(`s3://${BUCKET}/x`)
        .getIndex('cells', 'k')
        .catch((e: unknown) => e);
      expect((noRegion as TempestInputError).kind).toBe('S3RegionMissing');
      expect((noRegion as Error).message).toContain('set AWS_REGION');
      process.env.AWS_REGION = 'eu-west-1';
      const noCredentials = await new S3ArtifactStore(`s3://${BUCKET}/x`)
        .getIndex('cells', 'k')
        .catch((e: unknown) => e);
      expect((noCredentials as TempestInputError).kind).toBe('S3AccessDenied');
      expect((noCredentials as Error).message).toMatch(
        /^found no AWS credentials for bucket .*AWS_ACCESS_KEY_ID/,
      );
    } finally {
      process.env = saved;
    }
  });

  it('says to create a bucket that does not exist', async () => {
    const store = new S3ArtifactStore('s3://no-such-bucket-here/x', { endpoint: server.endpoint });
    const error = await store.putBlob(bytes('x'), 'text/plain').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TempestInputError);
    expect((error as TempestInputError).kind).toBe('S3BucketNotFound');
    expect((error as Error).message).toMatch(/S3 bucket no-such-bucket-here does not exist at .*Create it/);
  });

  it('retries an unreachable endpoint with backoff, then names it', async () => {
    const closed = `http://127.0.0.1:${await findFreePort()}`;
    const store = new S3ArtifactStore(`s3://${BUCKET}/x`, {
      endpoint: closed,
      retry: { budgetMs: 2_000, baseDelayMs: 100, maxDelayMs: 400 },
    });
    const started = Date.now();
    const error = await store.getIndex('cells', 'k').catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect((error as Error).message).toMatch(
      new RegExp(`S3 at ${closed} \\(bucket ${BUCKET}\\) kept failing while reading .*: \\d+ attempts`),
    );
  });

  it('measures throughput against the local store', async () => {
    const blob = pseudoRandomBytes(32 * MiB, 'throughput');
    const { store } = freshStore();
    const local = new LocalArtifactStore(await mkdtemp(join(tmpdir(), 'tempest-store-')));
    const rates = async (target: ArtifactStore) => {
      let started = performance.now();
      const ref = await target.putBlob(blob, 'application/octet-stream');
      const put = blob.length / MiB / ((performance.now() - started) / 1000);
      started = performance.now();
      expect((await target.getBlob(ref.sha256)).length).toBe(blob.length);
      const get = blob.length / MiB / ((performance.now() - started) / 1000);
      return `put ${put.toFixed(0)} MiB/s, get ${get.toFixed(0)} MiB/s`;
    };
    console.log(`32 MiB blob: local ${await rates(local)}; S3 (moto, multipart) ${await rates(store)}`);
  });
});
