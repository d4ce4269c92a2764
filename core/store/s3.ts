import { randomUUID } from 'node:crypto';
import {
  ChecksumMode,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ArtifactCorruptedError, ArtifactNotFoundError } from '../errors';
import { sha256Hex } from '../hash';
import { createS3Client, s3EndpointFromEnv } from './s3-client';
import { DEFAULT_RETRY_POLICY, withS3Retries, type RetryPolicy, type S3Target } from './s3-errors';
import { parseS3Uri, s3Uri, type S3Location } from './s3-location';
import {
  DEFAULT_UPLOAD_SIZES,
  mapWithConcurrency,
  sameS3Checksum,
  splitIntoParts,
  uploadObject,
  type UploadSizes,
} from './s3-upload';
import { assertSafeName, assertSha256, type ArtifactRef, type ArtifactStore } from './types';

export interface S3StoreOptions {
  /** Default: the AWS environment's (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL), else AWS S3 itself. */
  readonly endpoint?: string;
  /** Default: a client configured from the AWS environment for `endpoint`. */
  readonly client?: S3Client;
  readonly uploadSizes?: UploadSizes;
  readonly retry?: RetryPolicy;
}

interface IndexEntry {
  readonly sha256: string;
  readonly size: number;
  readonly mediaType: string;
}

const EVENT_READ_CONCURRENCY = 8;
const JSON_TYPE = 'application/json';

/**
 * Artifact store in an S3 bucket, with the local store's layout under the prefix:
 *   <prefix>/blobs/sha256/ab/abcdef...   content, named by its hash
 *   <prefix>/index/<index>/<key>.json    {sha256,size,mediaType} of the blob a key points to
 *   <prefix>/events/<stream>/<key>/<id>.json
 * A PUT is atomic in S3 (readers see the old object or the new one, never a part), so no
 * temporary objects are needed. Every operation is retried across transient failures; errors
 * the user must fix (credentials, missing bucket) fail at once with what to check.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly uri: string;
  private readonly location: S3Location;
  private readonly client: S3Client;
  private readonly target: S3Target;
  private readonly uploadSizes: UploadSizes;
  private readonly retry: RetryPolicy;

  constructor(location: S3Location | string, options: S3StoreOptions = {}) {
    this.location = typeof location === 'string' ? parseS3Uri(location) : location;
    this.uri = s3Uri(this.location);
    const endpoint = options.endpoint ?? s3EndpointFromEnv();
    this.client = options.client ?? createS3Client(endpoint);
    this.target = {
      bucket: this.location.bucket,
      endpoint: endpoint ?? 'AWS S3 (region from AWS_REGION or your AWS config)',
    };
    this.uploadSizes = options.uploadSizes ?? DEFAULT_UPLOAD_SIZES;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
  }

  private objectKey(relative: string): string {
    return this.location.prefix ? `${this.location.prefix}/${relative}` : relative;
  }

  private blobKey(sha256: string): string {
    assertSha256(sha256);
    return this.objectKey(`blobs/sha256/${sha256.slice(0, 2)}/${sha256}`);
  }

  private retrying<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return withS3Retries(operation, this.target, what, this.retry);
  }

  async putBlob(bytes: Uint8Array, mediaType: string): Promise<ArtifactRef> {
    const sha256 = sha256Hex(bytes);
    const key = this.blobKey(sha256);
    // An existing object is only trusted if S3 vouches for its exact bytes; a corrupted one is replaced.
    if (!(await this.holdsExactly(key, bytes))) {
      await this.retrying(`uploading ${key}`, () =>
        uploadObject(
          this.client,
          { bucket: this.location.bucket, key, bytes, contentType: mediaType },
          this.uploadSizes,
        ),
      );
    }
    return { sha256, size: bytes.length, mediaType };
  }

  /**
   * Whether `key` already holds `bytes`, judged from the SHA-256 checksum S3 keeps for objects
   * uploaded with one; a server that keeps none makes us download and hash the object instead.
   */
  private async holdsExactly(key: string, bytes: Uint8Array): Promise<boolean> {
    const head = await this.head(key);
    if (!head || head.ContentLength !== bytes.length) return false;
    if (head.ChecksumSHA256) {
      return sameS3Checksum(head.ChecksumSHA256, splitIntoParts(bytes, this.uploadSizes));
    }
    const stored = await this.readObject(key);
    return stored !== undefined && sha256Hex(stored) === sha256Hex(bytes);
  }

  private head(key: string) {
    return this.retrying(`checking ${key}`, async () => {
      try {
        return await this.client.send(
          new HeadObjectCommand({
            Bucket: this.location.bucket,
            Key: key,
            ChecksumMode: ChecksumMode.ENABLED,
          }),
        );
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  /** The object's bytes, or undefined when there is no such object. */
  private readObject(key: string): Promise<Uint8Array | undefined> {
    return this.retrying(`reading ${key}`, async () => {
      try {
        const { Body } = await this.client.send(
          new GetObjectCommand({ Bucket: this.location.bucket, Key: key }),
        );
        return Body ? await Body.transformToByteArray() : new Uint8Array();
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  private putObject(key: string, body: string): Promise<unknown> {
    return this.retrying(`writing ${key}`, () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.location.bucket, Key: key, Body: body, ContentType: JSON_TYPE }),
      ),
    );
  }

  async getBlob(sha256: string): Promise<Uint8Array> {
    const key = this.blobKey(sha256);
    const where = `s3://${this.location.bucket}/${key}`;
    const bytes = await this.readObject(key);
    if (!bytes) throw new ArtifactNotFoundError(sha256, where);
    const actual = sha256Hex(bytes);
    if (actual !== sha256) throw new ArtifactCorruptedError(sha256, where, actual);
    return bytes;
  }

  async hasBlob(sha256: string): Promise<boolean> {
    return (await this.head(this.blobKey(sha256))) !== undefined;
  }

  private indexKey(index: string, key: string): string {
    assertSafeName('index', index);
    assertSafeName('key', key);
    return this.objectKey(`index/${index}/${key}.json`);
  }

  async setIndex(index: string, key: string, target: ArtifactRef): Promise<void> {
    const entry: IndexEntry = { sha256: target.sha256, size: target.size, mediaType: target.mediaType };
    await this.putObject(this.indexKey(index, key), JSON.stringify(entry));
  }

  async getIndex(index: string, key: string): Promise<ArtifactRef | undefined> {
    const bytes = await this.readObject(this.indexKey(index, key));
    if (!bytes) return undefined;
    const entry = JSON.parse(new TextDecoder().decode(bytes)) as IndexEntry;
    return { sha256: entry.sha256, size: entry.size, mediaType: entry.mediaType };
  }

  private eventsPrefix(stream: string, key: string): string {
    assertSafeName('event stream', stream);
    assertSafeName('key', key);
    return this.objectKey(`events/${stream}/${key}/`);
  }

  async appendEvent(stream: string, key: string, event: Record<string, unknown>): Promise<void> {
    await this.putObject(`${this.eventsPrefix(stream, key)}${randomUUID()}.json`, JSON.stringify(event));
  }

  async listEvents(stream: string, key: string): Promise<Record<string, unknown>[]> {
    const prefix = this.eventsPrefix(stream, key);
    const keys = await this.retrying(`listing ${prefix}`, async () => {
      const found: string[] = [];
      for await (const page of paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.location.bucket, Prefix: prefix },
      )) {
        for (const object of page.Contents ?? []) if (object.Key?.endsWith('.json')) found.push(object.Key);
      }
      return found.sort();
    });
    const events = await mapWithConcurrency(keys, EVENT_READ_CONCURRENCY, (eventKey) =>
      this.readObject(eventKey),
    );
    // An event listed but gone by the time it is read was deleted in between: skip it.
    return events.flatMap((bytes) =>
      bytes ? [JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>] : [],
    );
  }
}

/** NoSuchKey from GET, a body-less 404 from HEAD; a missing bucket is not this (it is NoSuchBucket). */
function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error.name === 'NoSuchKey' || (error.name === 'NotFound' && status === 404);
}
