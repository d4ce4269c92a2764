import { Option } from 'commander';
import type { DataConverter } from '@temporalio/common';
import { ENCRYPTED_ENCODING, loadKeyring, PayloadKeyError, type Keyring } from '../core/codec';
import { payloadDataConverter } from '../workers/payload-encryption';

export interface PayloadKeyOptions {
  readonly payloadKeyFile?: string;
}

export const payloadKeyFileOption = () =>
  new Option(
    '--payload-key-file <file>',
    'keyring that encrypts Temporal payloads (default: $TEMPEST_PAYLOAD_KEYS or $TEMPEST_PAYLOAD_KEY; none: not encrypted)',
  );

export interface PayloadEncryption {
  /** Undefined when no key is configured: payloads go to the server as plain JSON. */
  readonly keyring?: Keyring;
  readonly dataConverter?: DataConverter;
}

/** The keyring named by --payload-key-file or the environment, and the data converter built on it. */
export async function payloadEncryption(options: PayloadKeyOptions): Promise<PayloadEncryption> {
  const keyring = await loadKeyring({ keyFile: options.payloadKeyFile });
  return { keyring, dataConverter: payloadDataConverter(keyring) };
}

/**
 * A client without the key gets the SDK's "Unknown encoding: binary/encrypted" when it reads an
 * encrypted payload; turn that into what the user has to do.
 */
export function explainEncryptedPayloads(error: unknown): unknown {
  if (error instanceof Error && error.message.includes(ENCRYPTED_ENCODING)) {
    return new PayloadKeyError(
      'payloads are encrypted; a payload key is needed to read them: --payload-key-file FILE, ' +
        'TEMPEST_PAYLOAD_KEYS or TEMPEST_PAYLOAD_KEY',
    );
  }
  return error;
}
