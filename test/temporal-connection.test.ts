/**
 * Flags and environment variables -> connection options (client/temporal-connection.ts), the
 * errors a user can act on, and API keys kept out of printed and recorded text. The options are
 * also fed through both SDKs' own option normalisation, so their names are the ones the SDKs read.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { normalizeTlsConfig } from '@temporalio/common/lib/internal-non-workflow';
import { toNativeClientOptions } from '@temporalio/worker/lib/connection-options';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  connectionSecurity,
  resolveTemporalTarget,
  temporalConnectionOptions,
  type TemporalTlsConfig,
} from '../client/temporal-connection';
import { TempestInputError } from '../core/errors';
import { captureEnvironment } from '../core/provenance/environment';
import { redact, redactText } from '../core/redact';
import { tempDir } from './helpers/cli';

const run = promisify(execFile);

let dir: string;
let cert: string;
let key: string;
let otherKey: string;
let apiKeyFile: string;
const API_KEY = 'tmprl-test-key.0123456789abcdef0123456789abcdef';

beforeAll(async () => {
  dir = await tempDir('tls-unit');
  cert = join(dir, 'client.pem');
  key = join(dir, 'client.key');
  otherKey = join(dir, 'other.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=unit',
  ]);
  await run('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-out',
    otherKey,
  ]);
  apiKeyFile = join(dir, 'api-key');
  await writeFile(apiKeyFile, `${API_KEY}\n`);
});

function tlsConfig(tls: unknown): TemporalTlsConfig {
  expect(typeof tls).toBe('object');
  return tls as TemporalTlsConfig;
}

/** The error a call throws, to check its type and text. */
function errorOf(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('connection options from flags and environment', () => {
  it('plaintext when nothing is set: tls false, no API key', () => {
    expect(temporalConnectionOptions({}, {})).toEqual({ tls: false });
    expect(resolveTemporalTarget({ address: 'h:7233' }, {})).toEqual({
      address: 'h:7233',
      namespace: 'default',
      connection: { tls: false },
    });
  });

  it('mTLS: certificate pair, CA and server name from flags, as the SDKs name them', () => {
    const options = temporalConnectionOptions(
      { tlsCert: cert, tlsKey: key, tlsCa: cert, tlsServerName: 'frontend.internal' },
      {},
    );
    const tls = tlsConfig(options.tls);
    expect(tls.clientCertPair?.crt).toEqual(readFileSync(cert));
    expect(tls.clientCertPair?.key).toEqual(readFileSync(key));
    expect(tls.serverRootCACertificate).toEqual(readFileSync(cert));
    expect(tls.serverNameOverride).toBe('frontend.internal');
    expect(options.apiKey).toBeUndefined();
    expect(connectionSecurity(options)).toBe('mTLS');

    // The worker's native options carry the same: client cert, CA and domain.
    const native = toNativeClientOptions({ address: 'h:7233', ...options });
    expect(native.targetUrl).toBe('https://h:7233');
    expect(native.tls?.domain).toBe('frontend.internal');
    expect(native.tls?.clientTlsOptions?.clientCert).toEqual(readFileSync(cert));
    expect(native.tls?.serverRootCaCert).toEqual(readFileSync(cert));
  });

  it('an API key (file) implies TLS, for the client and the worker alike', () => {
    const options = temporalConnectionOptions({ apiKeyFile }, {});
    expect(options).toEqual({ tls: true, apiKey: API_KEY });
    expect(connectionSecurity(options)).toBe('TLS, API key');
    expect(normalizeTlsConfig(options.tls, options.apiKey)).toEqual({});
    const native = toNativeClientOptions({ address: 'ns.acct.tmprl.cloud:7233', ...options });
    expect(native.apiKey).toBe(API_KEY);
    expect(native.targetUrl).toBe('https://ns.acct.tmprl.cloud:7233');
  });

  it('falls back to the `temporal` CLI variables, and to the older tctl names', () => {
    const target = resolveTemporalTarget(
      {},
      {
        TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'ns.acct',
        TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
        TEMPORAL_TLS_KEY: key,
        TEMPORAL_TLS_SERVER_NAME: 'ns.acct.tmprl.cloud',
      },
    );
    expect(target.address).toBe('ns.acct.tmprl.cloud:7233');
    expect(target.namespace).toBe('ns.acct');
    expect(tlsConfig(target.connection.tls).clientCertPair?.key).toEqual(readFileSync(key));
    expect(tlsConfig(target.connection.tls).serverNameOverride).toBe('ns.acct.tmprl.cloud');

    const inline = temporalConnectionOptions(
      {},
      {
        TEMPORAL_TLS_CLIENT_CERT_DATA: readFileSync(cert, 'utf8'),
        TEMPORAL_TLS_CLIENT_KEY_DATA: readFileSync(key, 'utf8'),
        TEMPORAL_API_KEY: API_KEY,
      },
    );
    expect(tlsConfig(inline.tls).clientCertPair?.crt).toEqual(readFileSync(cert));
    expect(inline.apiKey).toBe(API_KEY);
  });

  it('flags win over variables; TEMPORAL_TLS=false keeps an API key on plaintext', () => {
    const target = resolveTemporalTarget(
      { address: 'a:1', namespace: 'flag-ns', apiKeyFile },
      { TEMPORAL_ADDRESS: 'b:2', TEMPORAL_NAMESPACE: 'env-ns', TEMPORAL_API_KEY: 'from-the-environment' },
    );
    expect(target).toMatchObject({ address: 'a:1', namespace: 'flag-ns', connection: { apiKey: API_KEY } });
    expect(temporalConnectionOptions({}, { TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' })).toEqual({
      tls: false,
      apiKey: API_KEY,
    });
    expect(temporalConnectionOptions({}, { TEMPORAL_TLS: 'true' })).toEqual({ tls: true });
    expect(errorOf(() => temporalConnectionOptions({}, { TEMPORAL_TLS: 'maybe' })).message).toContain(
      '$TEMPORAL_TLS must be true or false',
    );
  });

  it('without an address (embedded dev server): TLS flags are refused, TLS variables ignored', () => {
    expect(resolveTemporalTarget({}, { TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS_CA: cert })).toEqual({
      namespace: 'default',
      connection: {},
    });
    const error = errorOf(() => resolveTemporalTarget({ tlsCa: cert, tls: true }, {}));
    expect(error).toBeInstanceOf(TempestInputError);
    expect(error.message).toBe(
      '--tls, --tls-ca need --address (or $TEMPORAL_ADDRESS): the embedded dev server is plaintext',
    );
  });
});

describe('connection errors a user can act on', () => {
  it('an unreadable file names the flag (or variable) and the path', () => {
    const missing = join(dir, 'nope.pem');
    const error = errorOf(() => temporalConnectionOptions({ tlsCert: missing, tlsKey: key }, {}));
    expect(error).toBeInstanceOf(TempestInputError);
    expect(error.message).toBe(`cannot read the client certificate file ${missing} (--tls-cert): ENOENT`);
    expect(errorOf(() => temporalConnectionOptions({}, { TEMPORAL_TLS_CA: missing })).message).toBe(
      `cannot read the CA certificate file ${missing} ($TEMPORAL_TLS_CA): ENOENT`,
    );
    expect(errorOf(() => temporalConnectionOptions({ apiKeyFile: missing }, {})).message).toContain(
      `cannot read the API key file ${missing} (--api-key-file)`,
    );
  });

  it('a key without its certificate, or the other way round, says mTLS takes both', () => {
    expect(errorOf(() => temporalConnectionOptions({ tlsKey: key }, {})).message).toBe(
      `a client key (--tls-key ${key}) needs its certificate: add --tls-cert FILE (mTLS takes both)`,
    );
    expect(errorOf(() => temporalConnectionOptions({ tlsCert: cert }, {})).message).toContain(
      'needs its private key: add --tls-key FILE',
    );
  });

  it('a key of another certificate, a key given as certificate, and an empty API key file are refused', () => {
    expect(errorOf(() => temporalConnectionOptions({ tlsCert: cert, tlsKey: otherKey }, {})).message).toBe(
      `the client key --tls-key ${otherKey} does not belong to the client certificate --tls-cert ${cert}`,
    );
    expect(errorOf(() => temporalConnectionOptions({ tlsCert: key, tlsKey: key }, {})).message).toMatch(
      /^--tls-cert .* is not a PEM client certificate/,
    );
    expect(errorOf(() => temporalConnectionOptions({ tlsCa: key }, {})).message).toMatch(
      /^--tls-ca .* is not a PEM CA certificate/,
    );
    const empty = join(dir, 'empty-key');
    return writeFile(empty, '\n').then(() =>
      expect(errorOf(() => temporalConnectionOptions({ apiKeyFile: empty }, {})).message).toBe(
        `the API key file ${empty} is empty`,
      ),
    );
  });
});

describe('API keys never reach output or records', () => {
  it('a key read from --api-key-file is redacted from printed text from then on', () => {
    const fileKey = 'file-only-api-key-9f8e7d6c5b4a';
    const file = join(dir, 'file-only-key');
    return writeFile(file, fileKey).then(() => {
      expect(redactText(`failed with Authorization ${fileKey}`, {})).toContain(fileKey);
      temporalConnectionOptions({ apiKeyFile: file }, {});
      expect(redactText(`failed with Authorization ${fileKey}`, {})).toBe(
        'failed with Authorization [redacted]',
      );
      // A record walked by redact() (what run.json's environment goes through) hides it too.
      expect(JSON.stringify(redact({ note: `key ${fileKey}` }, {}))).not.toContain(fileKey);
    });
  });

  it('TEMPORAL_API_KEY is hidden by name, and the environment record holds no variable', () => {
    const env = { TEMPORAL_API_KEY: API_KEY };
    expect(redactText(`TEMPORAL_API_KEY=${API_KEY} sent ${API_KEY}`, env)).not.toContain(API_KEY);
    expect(redact({ TEMPORAL_API_KEY: API_KEY, apiKey: API_KEY }, env)).toEqual({
      TEMPORAL_API_KEY: '[redacted]',
      apiKey: '[redacted]',
    });
    const previous = process.env.TEMPORAL_API_KEY;
    process.env.TEMPORAL_API_KEY = API_KEY;
    try {
      expect(JSON.stringify(captureEnvironment())).not.toContain(API_KEY);
    } finally {
      if (previous === undefined) delete process.env.TEMPORAL_API_KEY;
      else process.env.TEMPORAL_API_KEY = previous;
    }
  });
});
