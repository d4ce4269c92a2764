import { hashOf } from '../hash';
import { PhiloxStream, type PhiloxKey } from './philox';

/**
 * Derive a Philox key from any JSON-able description of "whose randomness this is" (seed,
 * data hash, module@version, params). The description is hashed canonically, so the key never
 * depends on property order, process, worker or time.
 */
export function deriveKey(scope: unknown): PhiloxKey {
  const digest = hashOf({ rng: 'tempest/philox4x32-10/v1', scope });
  return [parseInt(digest.slice(0, 8), 16) >>> 0, parseInt(digest.slice(8, 16), 16) >>> 0];
}

/** The stream of one sample: the same (key, sample index) always yields the same draws. */
export function sampleStream(key: PhiloxKey, sampleIndex: number): PhiloxStream {
  if (!Number.isSafeInteger(sampleIndex) || sampleIndex < 0) {
    throw new Error(`sampleStream: sample index must be a non-negative integer, got ${sampleIndex}`);
  }
  return new PhiloxStream(key, [sampleIndex % 0x100000000, Math.floor(sampleIndex / 0x100000000)]);
}
