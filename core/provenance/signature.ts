import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { TempestInputError } from '../errors';

/**
 * Detached ed25519 signatures (RFC 8032) of a run's provenance.json. The signature file carries
 * the public key, so anyone can check integrity; trusting the signer means comparing its key id
 * with one obtained out of band (`tempest verify --public-key`).
 */
export interface ProvenanceSignature {
  readonly apiVersion: 'tempest.signature/v1';
  readonly algorithm: 'ed25519';
  /** What was signed: the file name and the sha256 of its exact bytes. */
  readonly signed: { readonly file: string; readonly sha256: string };
  /** sha256 of the public key's SPKI DER encoding. */
  readonly keyId: string;
  readonly publicKey: string;
  /** base64 of the 64-byte signature over the signed file's bytes. */
  readonly signature: string;
}

export const SIGNING_KEY_ENV = 'TEMPEST_SIGNING_KEY';

function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** A private key from a PEM file, or from TEMPEST_SIGNING_KEY (the PEM text itself). */
export async function loadSigningKey(file?: string): Promise<KeyObject | undefined> {
  const pem = file ? await readFile(file, 'utf8') : process.env[SIGNING_KEY_ENV];
  if (!pem) return undefined;
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new TempestInputError(
      `${file ?? SIGNING_KEY_ENV}: not a PEM private key (${(error as Error).message}); create one with \`tempest keygen --signing\``,
      'BadSigningKey',
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TempestInputError(
      `${file ?? SIGNING_KEY_ENV}: an ed25519 key is needed, got ${key.asymmetricKeyType}`,
      'BadSigningKey',
    );
  }
  return key;
}

export async function loadPublicKey(file: string): Promise<KeyObject> {
  try {
    return createPublicKey(await readFile(file, 'utf8'));
  } catch (error) {
    throw new TempestInputError(
      `${file}: not a PEM public key (${(error as Error).message})`,
      'BadSigningKey',
    );
  }
}

/** Write a fresh key pair: FILE (private, mode 0600) and FILE.pub. */
export async function generateSigningKey(file: string): Promise<{ keyId: string; publicFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  const publicFile = `${file}.pub`;
  await writeFile(publicFile, publicKey.export({ format: 'pem', type: 'spki' }));
  return { keyId: keyIdOf(publicKey), publicFile };
}

export function signFile(name: string, bytes: Uint8Array, privateKey: KeyObject): ProvenanceSignature {
  const publicKey = createPublicKey(privateKey);
  return {
    apiVersion: 'tempest.signature/v1',
    algorithm: 'ed25519',
    signed: { file: name, sha256: createHash('sha256').update(bytes).digest('hex') },
    keyId: keyIdOf(publicKey),
    publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    signature: sign(null, bytes, privateKey).toString('base64'),
  };
}

/** Check a signature against the signed bytes and, when given, the key the verifier trusts. */
export function checkSignature(
  signature: ProvenanceSignature,
  bytes: Uint8Array,
  trusted?: KeyObject,
): { ok: boolean; detail: string } {
  const publicKey = createPublicKey(signature.publicKey);
  const keyId = keyIdOf(publicKey);
  if (keyId !== signature.keyId)
    return { ok: false, detail: `key id ${signature.keyId} does not match the embedded key` };
  if (trusted && keyIdOf(trusted) !== keyId) {
    return {
      ok: false,
      detail: `signed by key ${keyId.slice(0, 16)}, not by the trusted key ${keyIdOf(trusted).slice(0, 16)}`,
    };
  }
  const valid = verify(null, bytes, publicKey, Buffer.from(signature.signature, 'base64'));
  return valid
    ? {
        ok: true,
        detail: `valid ed25519 signature by key ${keyId.slice(0, 16)}${trusted ? ' (trusted)' : ' (untrusted: pass --public-key to pin the signer)'}`,
      }
    : {
        ok: false,
        detail: `the ed25519 signature does not match ${signature.signed.file}: the file was altered after signing`,
      };
}
