import { createHash } from 'node:crypto';

/** sha256 of bytes or a UTF-8 string, lowercase hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * JSON with object keys sorted at every depth, so equal values always serialize (and hash) to
 * the same bytes whatever order their keys were built in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const child = (value as Record<string, unknown>)[key];
      if (child !== undefined) sorted[key] = sortKeysDeep(child);
    }
    return sorted;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`canonicalJson: non-finite number ${value} cannot be hashed reproducibly`);
  }
  return value;
}

/** sha256 of the canonical JSON of a value: the identity of configurations and cells. */
export function hashOf(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
