import { canonicalJson } from '../hash';
import { MEDIA_TYPES, type ArtifactRef, type ArtifactStore } from './types';

/** Store a value as canonical JSON (sorted keys), so equal values get equal addresses. */
export function putCanonicalJson(store: ArtifactStore, value: unknown): Promise<ArtifactRef> {
  return store.putBlob(new TextEncoder().encode(canonicalJson(value)), MEDIA_TYPES.json);
}

/** Store a document people read (results.json, provenance.json) as indented JSON. */
export function putReadableJson(store: ArtifactStore, value: unknown): Promise<ArtifactRef> {
  return store.putBlob(new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`), MEDIA_TYPES.json);
}

export async function getJson<T>(store: ArtifactStore, sha256: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await store.getBlob(sha256))) as T;
}

/** A small bounded cache of loads: workers evaluate many cells of the same plan, data and models in a row. */
export class BoundedCache<V> {
  private readonly entries = new Map<string, Promise<V>>();
  constructor(private readonly capacity: number) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    let value = this.entries.get(key);
    if (!value) {
      value = load();
      value.catch(() => this.entries.delete(key));
      this.entries.set(key, value);
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    }
    return value;
  }
}
