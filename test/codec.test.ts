import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  AesGcmPayloadCodec,
  encryptedKeyId,
  generateKeyringFile,
  keyringFromObject,
  loadKeyring,
  PayloadDecryptionError,
  PayloadKeyError,
  type Keyring,
} from '../core/codec';
import { tempDir } from './helpers/cli';

const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');
const keyring = (current: string, ids: string[]): Keyring =>
  keyringFromObject({ current, keys: Object.fromEntries(ids.map((id, i) => [id, key(i + 1)])) }, 'test');

const SECRET_VALUE = { spec: 'name: confidential-spec', model: '/models/secret-model.onnx' };
const plain = (): Payload => defaultPayloadConverter.toPayload(SECRET_VALUE);
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('latin1');

describe('AES-256-GCM payload codec', () => {
  it('round-trips a payload, metadata included, and hides both in the encoded form', async () => {
    const codec = new AesGcmPayloadCodec(keyring('k1', ['k1']));
    const [encoded] = await codec.encode([plain()]);
    expect(text(encoded.metadata?.encoding)).toBe('binary/encrypted');
    expect(text(encoded.metadata?.['encryption-key-id'])).toBe('k1');
    expect(Object.keys(encoded.metadata ?? {}).sort()).toEqual(['encoding', 'encryption-key-id']);
    expect(text(encoded.data)).not.toContain('confidential');
    expect(text(encoded.data)).not.toContain('json/plain');
    const [decoded] = await codec.decode([encoded]);
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual(SECRET_VALUE);
    expect(text(decoded.metadata?.encoding)).toBe('json/plain');
  });

  it('uses a fresh 96-bit IV for every payload', async () => {
    const codec = new AesGcmPayloadCodec(keyring('k1', ['k1']));
    const encoded = await codec.encode([plain(), plain(), plain()]);
    const ivs = new Set(encoded.map((payload) => Buffer.from(payload.data!.subarray(0, 12)).toString('hex')));
    expect(ivs.size).toBe(3);
    expect(new Set(encoded.map((payload) => text(payload.data))).size).toBe(3);
  });

  it('rejects a payload with one flipped byte, or relabelled with another key id, as tampered', async () => {
    const codec = new AesGcmPayloadCodec(keyring('k1', ['k1', 'k2']));
    const [encoded] = await codec.encode([plain()]);
    for (const offset of [0, 20, encoded.data!.length - 1]) {
      const data = new Uint8Array(encoded.data!);
      data[offset] ^= 0x01;
      await expect(codec.decode([{ ...encoded, data }])).rejects.toThrow(
        /payload encrypted with key k1 failed AES-GCM authentication: it was altered/,
      );
    }
    const relabelled = {
      ...encoded,
      metadata: { ...encoded.metadata, 'encryption-key-id': Buffer.from('k2') },
    };
    await expect(codec.decode([relabelled])).rejects.toBeInstanceOf(PayloadDecryptionError);
  });

  it('keeps decoding old payloads after the current key rotates; new payloads use the new key', async () => {
    const before = new AesGcmPayloadCodec(keyring('k1', ['k1']));
    const [old] = await before.encode([plain()]);
    const after = new AesGcmPayloadCodec(keyring('k2', ['k1', 'k2']));
    const [fresh] = await after.encode([plain()]);
    expect(encryptedKeyId(fresh)).toBe('k2');
    const decoded = await after.decode([old, fresh]);
    expect(decoded.map((payload) => defaultPayloadConverter.fromPayload(payload))).toEqual([
      SECRET_VALUE,
      SECRET_VALUE,
    ]);
  });

  it('names the missing key and the keys it has when a payload used a key it does not know', async () => {
    const [encoded] = await new AesGcmPayloadCodec(keyring('k1', ['k1'])).encode([plain()]);
    const other = new AesGcmPayloadCodec(keyring('k2', ['k2', 'k3']));
    await expect(other.decode([encoded])).rejects.toThrow(
      'payload was encrypted with key k1; the keyring has k2, k3',
    );
  });

  it('passes unencrypted payloads through decode (older, plain runs stay readable)', async () => {
    const codec = new AesGcmPayloadCodec(keyring('k1', ['k1']));
    const [decoded] = await codec.decode([plain()]);
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual(SECRET_VALUE);
  });
});

describe('payload keyring', () => {
  it('refuses keys that are not 32 bytes, and a current id that names no key', () => {
    expect(() =>
      keyringFromObject({ current: 'a', keys: { a: Buffer.alloc(16).toString('base64') } }, 'f.json'),
    ).toThrow('f.json: key "a" is 16 bytes; AES-256-GCM needs 32');
    expect(() => keyringFromObject({ current: 'b', keys: { a: key(1) } }, 'f.json')).toThrow(
      /"current" must name one of the keys \(a\)/,
    );
    expect(() => keyringFromObject({ current: 'a', keys: { a: 'not base64!' } }, 'f.json')).toThrow(
      PayloadKeyError,
    );
  });

  it('loads a key file (JSON or YAML) before TEMPEST_PAYLOAD_KEYS before TEMPEST_PAYLOAD_KEY', async () => {
    const dir = await tempDir('keys');
    const yamlFile = join(dir, 'keys.yaml');
    await writeFile(yamlFile, `current: y1\nkeys:\n  y1: ${key(7)}\n`);
    const env = {
      TEMPEST_PAYLOAD_KEYS: JSON.stringify({ current: 'j2', keys: { j1: key(1), j2: key(2) } }),
      TEMPEST_PAYLOAD_KEY: key(3),
    };
    expect((await loadKeyring({ keyFile: yamlFile, env }))?.current).toBe('y1');
    expect([...(await loadKeyring({ env }))!.keys.keys()]).toEqual(['j1', 'j2']);
    const single = await loadKeyring({ env: { TEMPEST_PAYLOAD_KEY: key(3) } });
    expect(single?.current).toBe('default');
    expect(Buffer.from(single!.keys.get('default')!)).toEqual(Buffer.alloc(32, 3));
    expect(await loadKeyring({ env: {} })).toBeUndefined();
    await expect(loadKeyring({ env: { TEMPEST_PAYLOAD_KEY: 'c2hvcnQ=' } })).rejects.toThrow(
      'TEMPEST_PAYLOAD_KEY: key "default" is 5 bytes; AES-256-GCM needs 32',
    );
  });

  it('generates keyrings that load', () => {
    const file = generateKeyringFile();
    const loaded = keyringFromObject(file, 'generated');
    expect(loaded.keys.get(loaded.current)).toHaveLength(32);
  });
});
