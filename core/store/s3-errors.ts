import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TempestInputError } from '../errors';

/** What an S3 error means for the caller: fix the setup, wait and retry, or something else. */
export type S3ErrorKind = 'credentials' | 'missing-bucket' | 'missing-region' | 'transient' | 'other';

/** Where a request went, so every message names what the user should look at. */
export interface S3Target {
  readonly bucket: string;
  /** The custom endpoint URL, or a description of AWS's, e.g. "AWS S3 (region from your AWS config)". */
  readonly endpoint: string;
}

// S3 error codes (and the SDK's names for body-less HEAD answers) that no retry can fix.
const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AccessDenied',
  'Forbidden',
  'AuthorizationHeaderMalformed',
  'CredentialsProviderError',
]);
const TRANSIENT_ERRORS = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'ServiceUnavailable',
  'NetworkingError',
]);
// Node's socket errors: the endpoint is down, restarting or unreachable for now.
const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

export function classifyS3Error(error: unknown): S3ErrorKind {
  if (!(error instanceof Error)) return 'other';
  const { name, code, $retryable, $metadata } = error as SdkErrorShape;
  const status = $metadata?.httpStatusCode;
  if (name === 'NoSuchBucket') return 'missing-bucket';
  if (/region is missing/i.test(error.message)) return 'missing-region';
  // A HEAD answer has no body, so a refused signature arrives as a bare 403.
  if (status === 403) return 'credentials';
  if (CREDENTIAL_ERRORS.has(name ?? '') || /could not load credentials/i.test(error.message)) {
    return 'credentials';
  }
  if ($retryable || TRANSIENT_ERRORS.has(name ?? '') || TRANSIENT_SOCKET_CODES.has(code ?? '')) {
    return 'transient';
  }
  if (status !== undefined && (status >= 500 || status === 429)) return 'transient';
  if (/socket hang up|ECONNREFUSED|ECONNRESET/i.test(error.message)) return 'transient';
  return 'other';
}

/**
 * Turn an error the user can fix into a TempestInputError (non-retryable in activities, exit 2
 * in the CLI) that says what to check; others pass through unchanged.
 */
export function explainS3Error(error: unknown, target: S3Target): unknown {
  const kind = classifyS3Error(error);
  const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (kind === 'credentials') {
    const problem = /could not load credentials/i.test(cause)
      ? 'found no AWS credentials for'
      : 'S3 refused access to';
    return new TempestInputError(
      `${problem} bucket ${target.bucket} at ${target.endpoint} (${cause}). ` +
        'Check the credentials Tempest picks up (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ' +
        'AWS_SESSION_TOKEN, or the profile named by AWS_PROFILE), that they belong to this endpoint ' +
        '(AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL) and region (AWS_REGION), and that their policy allows ' +
        's3:GetObject, s3:PutObject and s3:ListBucket on the bucket (without ListBucket, S3 answers ' +
        '403 instead of 404 for an object not stored yet).',
      'S3AccessDenied',
    );
  }
  if (kind === 'missing-bucket') {
    return new TempestInputError(
      `S3 bucket ${target.bucket} does not exist at ${target.endpoint}. Create it first ` +
        `(e.g. \`aws s3 mb s3://${target.bucket}\`, with --endpoint-url for a custom endpoint) ` +
        'or fix the bucket name in --artifacts.',
      'S3BucketNotFound',
    );
  }
  if (kind === 'missing-region') {
    return new TempestInputError(
      `no AWS region is configured for bucket ${target.bucket}: set AWS_REGION (or region in the profile ` +
        'named by AWS_PROFILE), or AWS_ENDPOINT_URL_S3 for an S3-compatible server.',
      'S3RegionMissing',
    );
  }
  return error;
}

/** How long and how often whole store operations are retried across an S3 outage. */
export interface RetryPolicy {
  /** Give up once retrying has taken this long. */
  readonly budgetMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { budgetMs: 90_000, baseDelayMs: 250, maxDelayMs: 8_000 };

/**
 * Retry an operation while S3 answers with transient errors, with exponential backoff and
 * jitter (so many workers do not hammer a recovering endpoint in step). The SDK already retries
 * each request a few times within about a second; this outer loop rides out outages of a minute
 * or more, such as an S3-compatible server restarting. Errors the user must fix fail at once.
 */
export async function withS3Retries<T>(
  operation: () => Promise<T>,
  target: S3Target,
  what: string,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (classifyS3Error(error) !== 'transient') throw explainS3Error(error, target);
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.ceil(ceiling / 2) + randomInt(Math.ceil(ceiling / 2) + 1);
      const elapsed = Date.now() - started;
      if (elapsed + delay > policy.budgetMs) {
        throw new Error(
          `S3 at ${target.endpoint} (bucket ${target.bucket}) kept failing while ${what}: ` +
            `${attempt} attempts over ${(elapsed / 1000).toFixed(1)} s; last error ${String(error)}`,
          { cause: error },
        );
      }
      await sleep(delay);
    }
  }
}
