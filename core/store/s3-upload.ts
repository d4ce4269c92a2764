import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** How a blob is split for upload: one PUT below the threshold, parts of `partSizeBytes` above it. */
export interface UploadSizes {
  readonly multipartThresholdBytes: number;
  readonly partSizeBytes: number;
}

// S3 refuses parts under 5 MiB (except the last) and more than 10,000 parts.
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const PART_UPLOAD_CONCURRENCY = 4;

export const DEFAULT_UPLOAD_SIZES: UploadSizes = {
  multipartThresholdBytes: 16 * 1024 * 1024,
  partSizeBytes: 8 * 1024 * 1024,
};

export interface ObjectToUpload {
  readonly bucket: string;
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly contentType: string;
}

function sha256Base64(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

export function splitIntoParts(bytes: Uint8Array, sizes: UploadSizes): Uint8Array[] {
  if (bytes.length < sizes.multipartThresholdBytes) return [bytes];
  const partSize = Math.max(sizes.partSizeBytes, MIN_PART_SIZE_BYTES, Math.ceil(bytes.length / MAX_PARTS));
  const parts: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += partSize) {
    parts.push(bytes.subarray(start, start + partSize));
  }
  return parts;
}

/**
 * The SHA-256 checksum S3 reports for an object uploaded in these parts: the digest of the
 * content for a single PUT, and for a multipart upload the digest of the parts' digests with
 * "-<part count>" (S3's composite checksum; some S3-compatible servers leave the suffix out).
 * Comparing it with HeadObject's answer tells whether the stored object has exactly our bytes
 * without downloading it.
 */
export function sameS3Checksum(reported: string, parts: readonly Uint8Array[]): boolean {
  const digestOnly = (checksum: string) => checksum.replace(/-\d+$/, '');
  return digestOnly(reported) === digestOnly(expectedS3Checksum(parts));
}

function expectedS3Checksum(parts: readonly Uint8Array[]): string {
  if (parts.length === 1) return sha256Base64(parts[0]);
  const digests = parts.map((part) => createHash('sha256').update(part).digest());
  return `${sha256Base64(Buffer.concat(digests))}-${parts.length}`;
}

/**
 * Upload with a SHA-256 checksum on every request, so S3 itself rejects bytes damaged in
 * transit (BadDigest) instead of storing them.
 */
export async function uploadObject(
  client: S3Client,
  object: ObjectToUpload,
  sizes: UploadSizes,
): Promise<void> {
  const parts = splitIntoParts(object.bytes, sizes);
  const { bucket: Bucket, key: Key, contentType: ContentType } = object;
  if (parts.length === 1) {
    await client.send(
      new PutObjectCommand({
        Bucket,
        Key,
        ContentType,
        Body: object.bytes,
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: sha256Base64(object.bytes),
      }),
    );
    return;
  }
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket, Key, ContentType, ChecksumAlgorithm: 'SHA256' }),
  );
  try {
    const uploaded = await mapWithConcurrency(parts, PART_UPLOAD_CONCURRENCY, async (part, index) => {
      const PartNumber = index + 1;
      const ChecksumSHA256 = sha256Base64(part);
      const { ETag } = await client.send(
        new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: part, ChecksumSHA256 }),
      );
      return { ETag, PartNumber, ChecksumSHA256 };
    });
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: uploaded } }),
    );
  } catch (error) {
    // Unfinished uploads keep their parts (and cost storage) until aborted.
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw error;
  }
}

/** `map` with at most `limit` calls in flight; results keep the order of `items`. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
