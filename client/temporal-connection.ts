/**
 * How Tempest reaches a secured Temporal cluster (Temporal Cloud, or self-hosted behind TLS):
 * user settings (flags, else the environment variables the `temporal` CLI reads) become the
 * connection options that both the client (`Connection.connect`) and the worker
 * (`NativeConnection.connect`) take, so the two always connect the same way.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { TempestInputError } from '../core/errors';
import { addSecret } from '../core/redact';

/** The subset of ConnectionOptions and NativeConnectionOptions that secures a connection; valid for both. */
export interface TemporalConnectionOptions {
  /** Absent or false: plaintext. `true` or an object: TLS (with the system's root CAs unless one is given). */
  readonly tls?: boolean | TemporalTlsConfig;
  /** Sent as `Authorization: Bearer <key>` on every call; with `tls` absent the SDKs turn TLS on. */
  readonly apiKey?: string;
  /** Extra gRPC headers on every call (e.g. for a proxy in front of the cluster). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The SDKs' TLSConfig, spelled out so this module needs neither SDK to describe it. */
export interface TemporalTlsConfig {
  readonly serverNameOverride?: string;
  readonly serverRootCACertificate?: Buffer;
  readonly clientCertPair?: { readonly crt: Buffer; readonly key: Buffer };
}

/** What a user says about the connection, as CLI flags (file paths, never secrets themselves). */
export interface TemporalConnectionFlags {
  readonly address?: string;
  readonly namespace?: string;
  readonly tls?: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsCa?: string;
  readonly tlsServerName?: string;
  readonly apiKeyFile?: string;
}

/** Where to connect, and how. `address` undefined: the embedded dev server (always plaintext). */
export interface TemporalTarget {
  readonly address?: string;
  readonly namespace: string;
  readonly connection: TemporalConnectionOptions;
}

/**
 * The environment variables read when a flag is not given. The names are those of the `temporal`
 * CLI (1.x); the shorter TEMPORAL_TLS_CERT/KEY/CA of tctl and older CLIs are accepted too, so an
 * existing shell or deployment setup works unchanged.
 */
export const TEMPORAL_ENV = {
  address: ['TEMPORAL_ADDRESS'],
  namespace: ['TEMPORAL_NAMESPACE'],
  tls: ['TEMPORAL_TLS'],
  tlsCert: ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CERT'],
  tlsCertData: ['TEMPORAL_TLS_CLIENT_CERT_DATA'],
  tlsKey: ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_KEY'],
  tlsKeyData: ['TEMPORAL_TLS_CLIENT_KEY_DATA'],
  tlsCa: ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CA'],
  tlsCaData: ['TEMPORAL_TLS_SERVER_CA_CERT_DATA'],
  tlsServerName: ['TEMPORAL_TLS_SERVER_NAME'],
  apiKey: ['TEMPORAL_API_KEY'],
} as const;

export const DEFAULT_NAMESPACE = 'default';

/** A setting with where it came from, so an error names the flag or variable the user has to fix. */
interface Sourced {
  readonly value: string;
  readonly source: string;
}

function fromEnv(env: NodeJS.ProcessEnv, names: readonly string[]): Sourced | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { value, source: `$${name}` };
  }
  return undefined;
}

function setting(
  flag: string | undefined,
  flagName: string,
  env: NodeJS.ProcessEnv,
  names: readonly string[],
): Sourced | undefined {
  return flag !== undefined ? { value: flag, source: flagName } : fromEnv(env, names);
}

function readSettingFile(file: Sourced, what: string): Buffer {
  try {
    return readFileSync(file.value);
  } catch (error) {
    throw new TempestInputError(
      `cannot read the ${what} file ${file.value} (${file.source}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'BadTemporalConnection',
    );
  }
}

/** A PEM read from a file (path setting) or given inline (…_DATA variable). */
function pemOf(path: Sourced | undefined, data: Sourced | undefined, what: string) {
  if (path) return { pem: readSettingFile(path, what), source: `${path.source} ${path.value}` };
  if (data) return { pem: Buffer.from(data.value), source: data.source };
  return undefined;
}

/**
 * Parse certificates and the key now: a DER file, a swapped cert and key, or a key of another
 * certificate would otherwise surface as an opaque handshake failure after connect retries.
 */
function checkCertificate(pem: Buffer, source: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new TempestInputError(
      `${source} is not a PEM ${what} (-----BEGIN CERTIFICATE-----): ${(error as Error).message}`,
      'BadTemporalConnection',
    );
  }
}

function checkKeyPair(crt: X509Certificate, key: Buffer, certSource: string, keySource: string): void {
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TempestInputError(
      `${keySource} is not a PEM private key (-----BEGIN PRIVATE KEY-----; encrypted keys are not supported): ${(error as Error).message}`,
      'BadTemporalConnection',
    );
  }
  if (!crt.checkPrivateKey(privateKey)) {
    throw new TempestInputError(
      `the client key ${keySource} does not belong to the client certificate ${certSource}`,
      'BadTemporalConnection',
    );
  }
}

function parseBoolean(value: Sourced): boolean {
  const text = value.value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  throw new TempestInputError(
    `${value.source} must be true or false, not "${value.value}"`,
    'BadTemporalConnection',
  );
}

function readApiKey(flags: TemporalConnectionFlags, env: NodeJS.ProcessEnv): string | undefined {
  let key: string | undefined;
  if (flags.apiKeyFile !== undefined) {
    key = readSettingFile({ value: flags.apiKeyFile, source: '--api-key-file' }, 'API key')
      .toString('utf8')
      .trim();
    if (!key)
      throw new TempestInputError(`the API key file ${flags.apiKeyFile} is empty`, 'BadTemporalConnection');
  } else {
    key = fromEnv(env, TEMPORAL_ENV.apiKey)?.value.trim();
  }
  // TEMPORAL_API_KEY is hidden by name already; a key read from a file is not in the
  // environment, so tell the redaction filter about it before anything can print it.
  if (key) addSecret(key);
  return key || undefined;
}

/**
 * Resolve flags (else environment variables) into where and how to connect. Every file is read
 * and checked here, so a wrong path or a mismatched key fails at once, naming the flag or variable
 * and the path, before any server, worker or workflow starts.
 *
 * Without an address (the embedded dev server, which is plaintext), TLS flags are an error and
 * TLS variables are ignored: they describe the cluster at $TEMPORAL_ADDRESS, which is not in use.
 */
export function resolveTemporalTarget(
  flags: TemporalConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  defaults: { readonly address?: string } = {},
): TemporalTarget {
  const address = flags.address ?? fromEnv(env, TEMPORAL_ENV.address)?.value ?? defaults.address;
  const namespace = flags.namespace ?? fromEnv(env, TEMPORAL_ENV.namespace)?.value ?? DEFAULT_NAMESPACE;
  const tlsFlags = (
    [
      ['--tls', flags.tls],
      ['--tls-cert', flags.tlsCert],
      ['--tls-key', flags.tlsKey],
      ['--tls-ca', flags.tlsCa],
      ['--tls-server-name', flags.tlsServerName],
      ['--api-key-file', flags.apiKeyFile],
    ] as const
  )
    .filter(([, value]) => value !== undefined && value !== false)
    .map(([name]) => name);
  if (address === undefined) {
    if (tlsFlags.length > 0) {
      throw new TempestInputError(
        `${tlsFlags.join(', ')} need --address (or $TEMPORAL_ADDRESS): the embedded dev server is plaintext`,
        'BadTemporalConnection',
      );
    }
    return { namespace, connection: {} };
  }
  return { address, namespace, connection: temporalConnectionOptions(flags, env) };
}

/** The TLS and API-key options for a cluster, from flags, else the `temporal` CLI's variables. */
export function temporalConnectionOptions(
  flags: TemporalConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnectionOptions {
  const certPath = setting(flags.tlsCert, '--tls-cert', env, TEMPORAL_ENV.tlsCert);
  const keyPath = setting(flags.tlsKey, '--tls-key', env, TEMPORAL_ENV.tlsKey);
  const caPath = setting(flags.tlsCa, '--tls-ca', env, TEMPORAL_ENV.tlsCa);
  // An inline PEM only counts where no path is given for the same thing.
  const cert = pemOf(
    certPath,
    certPath ? undefined : fromEnv(env, TEMPORAL_ENV.tlsCertData),
    'client certificate',
  );
  const key = pemOf(keyPath, keyPath ? undefined : fromEnv(env, TEMPORAL_ENV.tlsKeyData), 'client key');
  const ca = pemOf(caPath, caPath ? undefined : fromEnv(env, TEMPORAL_ENV.tlsCaData), 'CA certificate');
  const serverName = setting(flags.tlsServerName, '--tls-server-name', env, TEMPORAL_ENV.tlsServerName);
  const apiKey = readApiKey(flags, env);

  if (key && !cert) {
    throw new TempestInputError(
      `a client key (${key.source}) needs its certificate: add --tls-cert FILE (mTLS takes both)`,
      'BadTemporalConnection',
    );
  }
  if (cert && !key) {
    throw new TempestInputError(
      `a client certificate (${cert.source}) needs its private key: add --tls-key FILE (mTLS takes both)`,
      'BadTemporalConnection',
    );
  }
  if (cert && key) {
    checkKeyPair(
      checkCertificate(cert.pem, cert.source, 'client certificate'),
      key.pem,
      cert.source,
      key.source,
    );
  }
  if (ca) checkCertificate(ca.pem, ca.source, 'CA certificate');

  const explicit =
    flags.tls ?? (fromEnv(env, TEMPORAL_ENV.tls) ? parseBoolean(fromEnv(env, TEMPORAL_ENV.tls)!) : undefined);
  const anyTlsSetting = Boolean(cert || ca || serverName || apiKey);
  // As the `temporal` CLI does: any TLS setting or an API key turns TLS on, and only an explicit
  // TEMPORAL_TLS=false turns it off (an API key over plaintext, for a local proxy or test server).
  const enabled = explicit ?? anyTlsSetting;
  const config: TemporalTlsConfig = {
    ...(serverName ? { serverNameOverride: serverName.value } : {}),
    ...(ca ? { serverRootCACertificate: ca.pem } : {}),
    ...(cert && key ? { clientCertPair: { crt: cert.pem, key: key.pem } } : {}),
  };
  if (!enabled && (cert || ca || serverName)) {
    throw new TempestInputError(
      'TLS is turned off ($TEMPORAL_TLS=false) but TLS certificates or a server name are given',
      'BadTemporalConnection',
    );
  }
  return {
    // `false`, not absent, when off: with an API key the SDKs would otherwise turn TLS on.
    tls: enabled ? (Object.keys(config).length > 0 ? config : true) : false,
    ...(apiKey ? { apiKey } : {}),
  };
}

/** True when the options encrypt the connection. */
export function usesTls(options: TemporalConnectionOptions): boolean {
  return options.tls === undefined ? options.apiKey !== undefined : options.tls !== false;
}

/** "plaintext", "TLS", "mTLS", with ", API key": for a worker's or client's startup line. */
export function connectionSecurity(options: TemporalConnectionOptions): string {
  const mutual = typeof options.tls === 'object' && options.tls.clientCertPair !== undefined;
  const transport = usesTls(options) ? (mutual ? 'mTLS' : 'TLS') : 'plaintext';
  return options.apiKey ? `${transport}, API key` : transport;
}

const PROBE_TIMEOUT_MS = 5000;
/** TLS 1.3 servers reject a missing or untrusted client certificate after the handshake. */
const PROBE_SETTLE_MS = 300;

/**
 * What a plain TLS handshake with the server says, in words a user can act on; undefined when it
 * succeeds (the failure is elsewhere). The SDKs' own errors mostly say "connection dropped" or
 * "deadline exceeded": the cause (untrusted certificate, wrong name, refused client certificate,
 * a plaintext server) is only visible at this level.
 */
export async function diagnoseTls(
  address: string,
  options: TemporalConnectionOptions,
): Promise<string | undefined> {
  if (!usesTls(options)) return undefined;
  const config = typeof options.tls === 'object' ? options.tls : {};
  const { host, port } = splitAddress(address);
  const servername = config.serverNameOverride ?? host;
  return new Promise((resolve) => {
    let settled = false;
    const done = (message: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(message);
    };
    const socket = tls.connect({
      host,
      port,
      // SNI must be a name, not an IP address (RFC 6066); the check below still uses `servername`.
      servername: isIp(servername) ? undefined : servername,
      checkServerIdentity: (_, cert) => tls.checkServerIdentity(servername, cert),
      ALPNProtocols: ['h2'],
      ...(config.serverRootCACertificate ? { ca: config.serverRootCACertificate } : {}),
      ...(config.clientCertPair ? { cert: config.clientCertPair.crt, key: config.clientCertPair.key } : {}),
    });
    const timer = setTimeout(() => done(undefined), PROBE_TIMEOUT_MS);
    socket.on('secureConnect', () => setTimeout(() => done(undefined), PROBE_SETTLE_MS));
    socket.on('error', (error: NodeJS.ErrnoException) => done(explainTlsError(error, servername, config)));
    // A close without an error (after the settle time, or a server that hung up): nothing to add.
    socket.on('close', () => setImmediate(() => done(undefined)));
  });
}

function explainTlsError(
  error: NodeJS.ErrnoException & { reason?: string },
  servername: string,
  config: TemporalTlsConfig,
): string {
  const code = error.code ?? '';
  const text = `${code} ${error.message}`;
  // OpenSSL's messages carry an error-stack dump; its `reason` is the readable part.
  const reason = error.reason ?? error.message.trim();
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /altname|does not match/i.test(text)) {
    return (
      `the server's certificate is not valid for the name "${servername}" (${reason}); ` +
      'set --tls-server-name to a name the certificate lists'
    );
  }
  if (
    /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|unknown ca|certificate verify/i.test(
      text,
    )
  ) {
    return (
      `the server's certificate is not trusted (${code || reason}): check --tls-ca, the CA ` +
      `certificate that signed the server's certificate${config.serverRootCACertificate ? '' : ' (none given: only the system CAs are trusted)'}` +
      ', and --tls-server-name'
    );
  }
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(code)) {
    return `the server's certificate is not valid now (${code}); check the server's certificate and this machine's clock`;
  }
  if (/certificate required|handshake failure|bad certificate|alert number 11[0-9]|alert 116/i.test(text)) {
    return (
      `the server refused the TLS handshake (${reason}): it likely requires a client certificate it trusts; ` +
      (config.clientCertPair
        ? 'check that --tls-cert is signed by a CA the server accepts'
        : 'give --tls-cert and --tls-key')
    );
  }
  if (/wrong version number|packet length too long|unknown protocol|http request/i.test(text)) {
    return `the server at this address does not speak TLS (${reason}): omit --tls and the --tls-* options, or check --address`;
  }
  if (/ECONNRESET|socket hang up|EPIPE/i.test(text)) {
    return (
      `the server closed the connection during the TLS handshake (${reason}): it may require a client ` +
      'certificate (--tls-cert, --tls-key) or not speak TLS on this port'
    );
  }
  return `TLS handshake failed: ${reason}; check --tls-ca, --tls-server-name, --tls-cert and --tls-key`;
}

function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(address.trim());
  const host = match?.[1] ?? address;
  return { host, port: Number(match?.[2] ?? 7233) };
}

function isIp(name: string): boolean {
  return /^[\d.]+$/.test(name) || name.includes(':');
}

/** Connecting to a cluster failed; the message says what to check. */
export class TemporalConnectionError extends Error {
  override readonly name = 'TemporalConnectionError';
}

const CREDENTIALS_REFUSED =
  /unauthenticated|unauthori[sz]ed|permission denied|PERMISSION_DENIED|invalid api key/i;

/**
 * The error to show when connecting to `address` failed: the SDK's message, with the TLS
 * handshake's own diagnosis when the connection uses TLS, and what to check. `plaintextHint` is
 * added when nothing more specific is known (e.g. "check --address").
 */
export async function explainConnectionFailure(
  error: unknown,
  address: string,
  options: TemporalConnectionOptions,
  plaintextHint?: string,
): Promise<TemporalConnectionError> {
  const message = error instanceof Error ? error.message : String(error);
  const prefix = `cannot connect to Temporal at ${address}`;
  if (CREDENTIALS_REFUSED.test(message)) {
    return new TemporalConnectionError(
      `${prefix}: the server refused the credentials (${message}); check the API key ` +
        '(--api-key-file or TEMPORAL_API_KEY), the client certificate (--tls-cert) and --namespace',
      { cause: error },
    );
  }
  if (!usesTls(options)) {
    return new TemporalConnectionError(`${prefix}: ${message}${plaintextHint ? `; ${plaintextHint}` : ''}`, {
      cause: error,
    });
  }
  const diagnosis = await diagnoseTls(address, options).catch(() => undefined);
  return new TemporalConnectionError(
    diagnosis
      ? `${prefix} over TLS: ${diagnosis} (${message})`
      : `${prefix} over TLS (the TLS handshake itself succeeds): ${message}; check --address, ` +
          '--namespace and the API key',
    { cause: error },
  );
}
