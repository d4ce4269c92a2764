import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Keyring } from './keyring';
import { decodePayloadMessage, encodePayloadMessage } from './payload-message';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER = 'aes-256-gcm';
/** 96-bit IVs are GCM's native size; a fresh random one per payload never repeats in practice. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A payload could not be decrypted: the message says which key and what to do. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

/** The key id of an encrypted payload, or undefined when the payload is not encrypted. */
export function encryptedKeyId(payload: Payload): string | undefined {
  const encoding = payload.metadata?.encoding;
  if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return undefined;
  const keyId = payload.metadata?.[KEY_ID_METADATA];
  return keyId ? fromUtf8.decode(keyId) : '(none)';
}

/**
 * AES-256-GCM PayloadCodec. The whole payload (metadata and data) is serialized and encrypted, so
 * the server sees neither values nor their encodings; the stored payload is IV || ciphertext || tag
 * with the key id in clear metadata. The key id is also the GCM additional data: relabelling a
 * payload with another key id fails authentication like any other tampering.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keyring.current;
    const key = this.keyring.keys.get(keyId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(utf8.encode(keyId));
      const ciphertext = Buffer.concat([cipher.update(encodePayloadMessage(payload)), cipher.final()]);
      return {
        metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(keyId) },
        data: new Uint8Array(Buffer.concat([iv, ciphertext, cipher.getAuthTag()])),
      };
    });
  }

  /** Payloads that are not encrypted pass through: a keyed client can still read older, plain runs. */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const keyId = encryptedKeyId(payload);
      return keyId === undefined ? payload : this.decrypt(keyId, payload.data ?? new Uint8Array(0));
    });
  }

  private decrypt(keyId: string, data: Uint8Array): Payload {
    const key = this.keyring.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `payload was encrypted with key ${keyId}; the keyring has ${[...this.keyring.keys.keys()].join(', ')}`,
      );
    }
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(
        `payload encrypted with key ${keyId} is truncated (${data.length} bytes)`,
      );
    }
    const decipher = createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(utf8.encode(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new PayloadDecryptionError(
        `payload encrypted with key ${keyId} failed AES-GCM authentication: it was altered after ` +
          `encryption, or key ${keyId} in this keyring is not the key it was encrypted with`,
      );
    }
    return decodePayloadMessage(plaintext);
  }
}
