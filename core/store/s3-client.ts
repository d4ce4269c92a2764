import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** Attempts per request inside the SDK (standard mode: exponential backoff with jitter). */
const SDK_MAX_ATTEMPTS = 4;
// A server that accepts no connection, or stalls mid-transfer, must fail the request (and let
// the retries take over) instead of hanging a worker forever.
const CONNECTION_TIMEOUT_MS = 5_000;
const SOCKET_IDLE_TIMEOUT_MS = 30_000;

/** A custom S3-compatible endpoint, read like the AWS CLI and SDKs read it. */
export function s3EndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * An S3 client configured from the usual AWS environment: credentials and region come from the
 * SDK's default provider chain (environment, shared config and credentials files, SSO, instance
 * roles). A custom endpoint (MinIO-like servers, moto, Ceph) gets path-style addressing, since
 * such servers rarely resolve bucket subdomains, and us-east-1 as the signing region when none
 * is set in the environment. Explicit `credentials` bypass the provider chain (tests, tools).
 */
export function createS3Client(
  endpoint: string | undefined,
  options: { env?: NodeJS.ProcessEnv; credentials?: S3ClientConfig['credentials'] } = {},
): S3Client {
  const env = options.env ?? process.env;
  // The SDK warns on Node < 22 that versions published after January 2027 will need it; ours is
  // pinned, so the warning would only add noise to every run's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined);
  return new S3Client({
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(region ? { region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: SDK_MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: SOCKET_IDLE_TIMEOUT_MS },
  });
}
