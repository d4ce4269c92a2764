import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from './encryption-codec';
import type { Keyring } from './keyring';

export * from './encryption-codec';
export * from './keyring';

/**
 * The data converter every Temporal connection of a process uses: payloads encrypted with the
 * keyring when one is configured, the SDK's default otherwise. Clients and workers must agree,
 * so they all get it from here.
 */
export function payloadDataConverter(keyring: Keyring | undefined): DataConverter | undefined {
  return keyring ? { payloadCodecs: [new AesGcmPayloadCodec(keyring)] } : undefined;
}
