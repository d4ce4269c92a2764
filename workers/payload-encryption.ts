import { DefaultFailureConverter, type DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, type Keyring } from '../core/codec';

/**
 * Loaded by the SDK through `failureConverterPath` (this file): failure messages and stack traces
 * (which name spec fields and file paths) move into an encoded attribute payload, which the codec
 * then encrypts like any other payload. Decoding needs no option: every client reads them back.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });

/**
 * The data converter every Temporal connection of a process uses: payloads and failure messages
 * encrypted with the keyring when one is configured, the SDK's default otherwise. Clients and
 * workers must agree, so they all get it from here. Conversions happen outside the workflow
 * sandbox, so the prebuilt workflow bundle is the same either way.
 */
export function payloadDataConverter(keyring: Keyring | undefined): DataConverter | undefined {
  return keyring
    ? { payloadCodecs: [new AesGcmPayloadCodec(keyring)], failureConverterPath: __filename }
    : undefined;
}
