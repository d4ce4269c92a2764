import { createHash } from 'node:crypto';

/**
 * Merkle tree hash of RFC 6962 (Certificate Transparency), sec. 2.1: leaves are hashed as
 * SHA-256(0x00 || data) and inner nodes as SHA-256(0x01 || left || right), splitting n items at
 * the largest power of two below n. The prefixes keep a leaf from ever being mistaken for a node
 * (second-preimage resistance), and the split makes the root of any prefix of the list provable.
 */
export function merkleTreeHash(leaves: readonly Uint8Array[]): string {
  return hashRange(leaves, 0, leaves.length).toString('hex');
}

function hashRange(leaves: readonly Uint8Array[], start: number, end: number): Buffer {
  const count = end - start;
  if (count === 0) return createHash('sha256').digest();
  if (count === 1)
    return createHash('sha256')
      .update(Buffer.from([0]))
      .update(leaves[start])
      .digest();
  let split = 1;
  while (split * 2 < count) split *= 2;
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(hashRange(leaves, start, start + split))
    .update(hashRange(leaves, start + split, end))
    .digest();
}

/**
 * The Merkle root of a run: the tree hash over its artifacts' sha256 digests (32 raw bytes each),
 * sorted and deduplicated so the root depends on which artifacts the run has, not on the order
 * they were listed in.
 */
export function artifactMerkleRoot(sha256s: Iterable<string>): string {
  const sorted = [...new Set(sha256s)].sort();
  for (const sha256 of sorted) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256 digest: "${sha256}"`);
  }
  return merkleTreeHash(sorted.map((sha256) => Buffer.from(sha256, 'hex')));
}
