import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactCorruptedError, ArtifactNotFoundError } from '../core/errors';
import { sha256Hex } from '../core/hash';
import { LocalArtifactStore } from '../core/store/local';

async function freshStore() {
  const root = await mkdtemp(join(tmpdir(), 'tempest-store-'));
  return { root, store: new LocalArtifactStore(root) };
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('local content-addressed store', () => {
  it('addresses blobs by sha256 and returns the same bytes', async () => {
    const { store } = await freshStore();
    const ref = await store.putBlob(bytes('hello tempest'), 'text/plain');
    expect(ref).toEqual({ sha256: sha256Hex('hello tempest'), size: 13, mediaType: 'text/plain' });
    expect(new TextDecoder().decode(await store.getBlob(ref.sha256))).toBe('hello tempest');
    expect(await store.hasBlob(ref.sha256)).toBe(true);
  });

  it('detects a corrupted blob on read, naming its address and location', async () => {
    const { root, store } = await freshStore();
    const ref = await store.putBlob(bytes('original content'), 'text/plain');
    const path = join(root, 'blobs', 'sha256', ref.sha256.slice(0, 2), ref.sha256);
    await writeFile(path, 'tampered content');
    const error = await store.getBlob(ref.sha256).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ArtifactCorruptedError);
    expect((error as ArtifactCorruptedError).message).toContain(ref.sha256);
    expect((error as ArtifactCorruptedError).message).toContain(path);
    expect((error as ArtifactCorruptedError).actualSha256).toBe(sha256Hex('tampered content'));
  });

  it('repairs a corrupted blob when the same content is put again', async () => {
    const { root, store } = await freshStore();
    const ref = await store.putBlob(bytes('payload'), 'text/plain');
    await writeFile(join(root, 'blobs', 'sha256', ref.sha256.slice(0, 2), ref.sha256), 'garbage');
    await store.putBlob(bytes('payload'), 'text/plain');
    expect(new TextDecoder().decode(await store.getBlob(ref.sha256))).toBe('payload');
  });

  it('reports a missing blob as not found', async () => {
    const { store } = await freshStore();
    await expect(store.getBlob('0'.repeat(64))).rejects.toBeInstanceOf(ArtifactNotFoundError);
  });

  it('writes atomically: nothing is left in tmp/ and no partial file is visible', async () => {
    const { root, store } = await freshStore();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.putBlob(bytes(`blob ${i}`), 'text/plain')));
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('maps index keys to blobs and keeps append-only events', async () => {
    const { root, store } = await freshStore();
    const ref = await store.putBlob(bytes('{"x":1}'), 'application/json');
    const key = 'a'.repeat(64);
    expect(await store.getIndex('cells', key)).toBeUndefined();
    await store.setIndex('cells', key, ref);
    expect(await store.getIndex('cells', key)).toEqual(ref);
    expect(JSON.parse(await readFile(join(root, 'index', 'cells', `${key}.json`), 'utf8'))).toEqual(ref);
    await store.appendEvent('computations', key, { n: 1 });
    await store.appendEvent('computations', key, { n: 2 });
    const events = await store.listEvents('computations', key);
    expect(events.map((event) => event.n).sort()).toEqual([1, 2]);
  });

  it('refuses keys that could escape the store folder', async () => {
    const { store } = await freshStore();
    const ref = await store.putBlob(bytes('x'), 'text/plain');
    await expect(store.setIndex('cells', '../../etc/passwd', ref)).rejects.toThrow(/unsafe artifact key/);
    await expect(store.setIndex('..', 'k', ref)).rejects.toThrow(/unsafe artifact index/);
    await expect(store.getBlob('../x')).rejects.toThrow(/not a sha256 address/);
  });
});
