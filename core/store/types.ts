/** A reference to immutable bytes in a content-addressed store: what activities pass instead of tensors. */
export interface ArtifactRef {
  readonly sha256: string;
  readonly size: number;
  readonly mediaType: string;
}

/**
 * Content-addressed artifact storage. Blobs are addressed by their sha256 and verified on every
 * read; named indexes map a key (e.g. a cell key) to a blob, which is how finished work is found
 * and reused; events are append-only records (one object each) so concurrent writers never clash.
 */
export interface ArtifactStore {
  /** Where the store lives, e.g. file:///home/me/.tempest/artifacts; recorded in provenance. */
  readonly uri: string;
  putBlob(bytes: Uint8Array, mediaType: string): Promise<ArtifactRef>;
  /** The blob's bytes, verified against its sha256; throws ArtifactCorruptedError / ArtifactNotFoundError. */
  getBlob(sha256: string): Promise<Uint8Array>;
  hasBlob(sha256: string): Promise<boolean>;
  /** Point `index/key` at a blob (last writer wins; writers of one key write equal content). */
  setIndex(index: string, key: string, target: ArtifactRef): Promise<void>;
  getIndex(index: string, key: string): Promise<ArtifactRef | undefined>;
  appendEvent(stream: string, key: string, event: Record<string, unknown>): Promise<void>;
  listEvents(stream: string, key: string): Promise<Record<string, unknown>[]>;
}

export const MEDIA_TYPES = {
  json: 'application/json',
  npy: 'application/x-npy',
  onnx: 'application/onnx',
  markdown: 'text/markdown',
  javascript: 'text/javascript',
  png: 'image/png',
} as const;

/** Index, stream and key names become path segments or object keys: refuse anything that could escape. */
export function assertSafeName(kind: string, name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name) || name.includes('..')) {
    throw new Error(
      `unsafe artifact ${kind} ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-" only (no "/" or "..")`,
    );
  }
}

export function assertSha256(value: string): void {
  if (!/^[0-9a-f]{64}$/.test(value)) throw new Error(`not a sha256 address: ${JSON.stringify(value)}`);
}
