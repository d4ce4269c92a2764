import { once } from 'node:events';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, keyringFromObject } from '../core/codec';
import {
  payloadFromJson as fromJson,
  payloadToJson as toJson,
  startCodecServer,
  type CodecServer,
  type JsonPayload,
} from '../infra/codec-server';
import { killSpawnedTempests, runTempest, spawnTempest } from './helpers/cli';
import { waitFor } from './helpers/temporal';

afterAll(killSpawnedTempests);

const TOKEN = 'test-codec-token-0123456789';
const UI_ORIGIN = 'http://localhost:8233';
const KEY = Buffer.alloc(32, 9).toString('base64');
const keyring = keyringFromObject({ current: 'k1', keys: { k1: KEY } }, 'test');
const codec = new AesGcmPayloadCodec(keyring);
const VALUE = { spec: 'name: confidential-spec', dataset: 'mnist' };

async function post(url: string, payloads: JsonPayload[], headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers },
    body: JSON.stringify({ payloads }),
  });
  const body = (await response.json().catch(() => undefined)) as
    { payloads?: ReturnType<typeof toJson>[]; error?: string } | undefined;
  return { status: response.status, body, headers: response.headers };
}
const bearer = { Authorization: `Bearer ${TOKEN}` };

describe('codec server over HTTP', () => {
  let server: CodecServer;
  beforeAll(async () => {
    server = await startCodecServer({ codec, token: TOKEN, origins: [UI_ORIGIN] });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('listens on 127.0.0.1 and answers 401 without the token or with a wrong one', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(VALUE)]);
    const none = await post(`${server.url}/decode`, [toJson(encrypted)]);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(JSON.stringify(none.body)).not.toContain('confidential');
    const wrong = await post(`${server.url}/decode`, [toJson(encrypted)], { Authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
  });

  it('decodes an encrypted payload to its plaintext', async () => {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(VALUE)]);
    const response = await post(`${server.url}/decode`, [toJson(encrypted)], bearer);
    expect(response.status).toBe(200);
    const [decoded] = response.body!.payloads!;
    expect(Buffer.from(decoded.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(decoded.data, 'base64').toString())).toEqual(VALUE);
  });

  it('round-trips encode then decode, and takes the token as a path prefix (for the Web UI)', async () => {
    const plain = toJson(defaultPayloadConverter.toPayload(VALUE));
    const encoded = await post(`${server.url}/encode`, [plain, plain], bearer);
    expect(encoded.status).toBe(200);
    const [first, second] = encoded.body!.payloads!;
    expect(Buffer.from(first.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    expect(first.data).not.toBe(second.data); // fresh IV each
    // What the server returned decodes with the codec itself, too.
    expect(defaultPayloadConverter.fromPayload((await codec.decode([fromJson(first)]))[0])).toEqual(VALUE);
    const decoded = await post(`${server.url}/${TOKEN}/decode`, encoded.body!.payloads!);
    expect(decoded.status).toBe(200);
    expect(decoded.body!.payloads).toEqual([plain, plain]);
  });

  it('answers the CORS preflight for the UI origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization,content-type,x-namespace',
        },
      });
    const allowed = await preflight(UI_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(
      /Authorization.*Content-Type.*X-Namespace/,
    );
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // The real request from the UI origin carries the header too.
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(VALUE)]);
    const real = await post(`${server.url}/decode`, [toJson(encrypted)], { ...bearer, Origin: UI_ORIGIN });
    expect(real.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  it('reports bad bodies and undecodable payloads with a reason', async () => {
    const badJson = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: bearer,
      body: 'not json',
    });
    expect(badJson.status).toBe(400);
    const [foreign] = await new AesGcmPayloadCodec(
      keyringFromObject({ current: 'k9', keys: { k9: Buffer.alloc(32, 1).toString('base64') } }, 'other'),
    ).encode([defaultPayloadConverter.toPayload(VALUE)]);
    const unknownKey = await post(`${server.url}/decode`, [toJson(foreign)], bearer);
    expect(unknownKey.status).toBe(422);
    expect(unknownKey.body?.error).toBe('payload was encrypted with key k9; the keyring has k1');
  });
});

describe('tempest codec-server', () => {
  it('refuses to start without a token', async () => {
    const result = await runTempest(['codec-server', '--port', '0'], {
      TEMPEST_PAYLOAD_KEY: KEY,
      TEMPEST_CODEC_TOKEN: '',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the codec server needs a bearer token');
  });

  it('serves /decode with the configured key and token, and stops on SIGTERM', async () => {
    const child = spawnTempest(['codec-server', '--port', '0'], {
      TEMPEST_PAYLOAD_KEYS: JSON.stringify({ current: 'k1', keys: { k1: KEY } }),
      TEMPEST_CODEC_TOKEN: TOKEN,
    });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const url = await waitFor(
      async () => /codec server on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
      'the codec server URL',
      30_000,
    );
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(VALUE)]);
    const response = await post(`${url}/decode`, [toJson(encrypted)], bearer);
    expect(response.status).toBe(200);
    expect(JSON.parse(Buffer.from(response.body!.payloads![0].data, 'base64').toString())).toEqual(VALUE);
    expect(stdout).not.toContain(TOKEN);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
