import protobuf from 'protobufjs';
import type { Payload } from '@temporalio/common';

/**
 * temporal.api.common.v1.Payload's wire format (metadata = 1, data = 2), declared here so an
 * encrypted payload's plaintext is the same protobuf bytes Temporal's own samples encrypt, without
 * depending on @temporalio/proto's generated code.
 */
const PayloadMessage = new protobuf.Type('Payload')
  .add(new protobuf.MapField('metadata', 1, 'string', 'bytes'))
  .add(new protobuf.Field('data', 2, 'bytes'));

interface PayloadFields {
  metadata?: Record<string, Uint8Array>;
  data?: Uint8Array;
}

export function encodePayloadMessage(payload: Payload): Uint8Array {
  const fields: PayloadFields = {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).filter((entry): entry is [string, Uint8Array] => !!entry[1]),
    ),
    data: payload.data ?? new Uint8Array(0),
  };
  return PayloadMessage.encode(PayloadMessage.fromObject(fields)).finish();
}

export function decodePayloadMessage(bytes: Uint8Array): Payload {
  const fields = PayloadMessage.toObject(PayloadMessage.decode(bytes), {
    defaults: true,
  }) as PayloadFields;
  return {
    metadata: Object.fromEntries(
      Object.entries(fields.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(v)]),
    ),
    data: new Uint8Array(fields.data ?? []),
  };
}
