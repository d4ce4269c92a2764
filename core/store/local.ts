import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, writeFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArtifactCorruptedError, ArtifactNotFoundError } from '../errors';
import { sha256Hex } from '../hash';
import { assertSafeName, assertSha256, type ArtifactRef, type ArtifactStore } from './types';

interface IndexEntry {
  readonly sha256: string;
  readonly size: number;
  readonly mediaType: string;
}

/**
 * Artifact store in a local folder:
 *   blobs/sha256/ab/abcdef...   content, named by its hash
 *   index/<index>/<key>.json    {sha256,size,mediaType} of the blob a key points to
 *   events/<stream>/<key>/<id>.json
 * Every write goes to tmp/ first and is renamed into place, so a reader (or a crash) never sees a
 * half-written file; rename within one filesystem is atomic.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  readonly uri: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.uri = pathToFileURL(this.root).href;
  }

  private blobPath(sha256: string): string {
    assertSha256(sha256);
    return join(this.root, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  }

  private async writeAtomically(path: string, bytes: Uint8Array | string): Promise<void> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomUUID()}.part`);
    try {
      await writeFile(tmp, bytes);
      await mkdir(join(path, '..'), { recursive: true });
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async putBlob(bytes: Uint8Array, mediaType: string): Promise<ArtifactRef> {
    const sha256 = sha256Hex(bytes);
    const path = this.blobPath(sha256);
    // An existing blob is only trusted if it still hashes right; a corrupted one is replaced.
    const existing = await this.readVerified(sha256).catch(() => undefined);
    if (!existing) await this.writeAtomically(path, bytes);
    return { sha256, size: bytes.length, mediaType };
  }

  private async readVerified(sha256: string): Promise<Uint8Array> {
    const path = this.blobPath(sha256);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactNotFoundError(sha256, path);
      throw error;
    }
    const actual = sha256Hex(bytes);
    if (actual !== sha256) throw new ArtifactCorruptedError(sha256, path, actual);
    return bytes;
  }

  getBlob(sha256: string): Promise<Uint8Array> {
    return this.readVerified(sha256);
  }

  async hasBlob(sha256: string): Promise<boolean> {
    try {
      await stat(this.blobPath(sha256));
      return true;
    } catch {
      return false;
    }
  }

  private indexPath(index: string, key: string): string {
    assertSafeName('index', index);
    assertSafeName('key', key);
    return join(this.root, 'index', index, `${key}.json`);
  }

  async setIndex(index: string, key: string, target: ArtifactRef): Promise<void> {
    const entry: IndexEntry = { sha256: target.sha256, size: target.size, mediaType: target.mediaType };
    await this.writeAtomically(this.indexPath(index, key), JSON.stringify(entry));
  }

  async getIndex(index: string, key: string): Promise<ArtifactRef | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.indexPath(index, key), 'utf8')) as IndexEntry;
      return { sha256: entry.sha256, size: entry.size, mediaType: entry.mediaType };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async appendEvent(stream: string, key: string, event: Record<string, unknown>): Promise<void> {
    assertSafeName('event stream', stream);
    assertSafeName('key', key);
    await this.writeAtomically(
      join(this.root, 'events', stream, key, `${randomUUID()}.json`),
      JSON.stringify(event),
    );
  }

  async listEvents(stream: string, key: string): Promise<Record<string, unknown>[]> {
    assertSafeName('event stream', stream);
    assertSafeName('key', key);
    const dir = join(this.root, 'events', stream, key);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return Promise.all(
      names.map(
        async (name) => JSON.parse(await readFile(join(dir, name), 'utf8')) as Record<string, unknown>,
      ),
    );
  }
}
