import { TempestInputError } from '../errors';

/** Where an S3 store lives: a bucket and a key prefix inside it ('' for the bucket's root). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

// S3's bucket naming rules (lowercase, digits, dots, hyphens; 3-63 characters).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isS3Uri(location: string): boolean {
  return location.toLowerCase().startsWith('s3://');
}

/** Parse `s3://bucket/prefix/...`; a trailing slash is ignored so `s3://b/p` and `s3://b/p/` are one store. */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(uri);
  const bucket = match?.[1] ?? '';
  if (!BUCKET_NAME.test(bucket)) {
    throw new TempestInputError(
      `artifact store ${uri}: ${JSON.stringify(bucket)} is not a valid S3 bucket name ` +
        '(3-63 lowercase letters, digits, "." or "-"); expected s3://bucket/prefix',
      'InvalidArtifactStore',
    );
  }
  const prefix = (match?.[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '' && prefix.split('/').some((segment) => ['', '.', '..'].includes(segment))) {
    throw new TempestInputError(
      `artifact store ${uri}: the prefix ${JSON.stringify(prefix)} has an empty, "." or ".." segment`,
      'InvalidArtifactStore',
    );
  }
  return { bucket, prefix };
}

export function s3Uri({ bucket, prefix }: S3Location): string {
  return prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
}
