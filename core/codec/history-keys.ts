import { ENCRYPTED_ENCODING, KEY_ID_METADATA } from './encryption-codec';
import { PAYLOAD_KEY_ENV, type Keyring } from './keyring';

const ENCRYPTED_ENCODING_BASE64 = Buffer.from(ENCRYPTED_ENCODING).toString('base64');

/**
 * Key ids of the encrypted payloads in an exported history (the proto JSON of `temporal workflow
 * show --output json` / historyToJSON, where metadata values are base64). Walks the whole
 * document, so payloads in any event attribute are found.
 */
export function encryptedKeyIdsInHistoryJson(history: unknown): Set<string> {
  const ids = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const metadata = (node as { metadata?: Record<string, unknown> }).metadata;
    if (metadata && typeof metadata === 'object' && metadata.encoding === ENCRYPTED_ENCODING_BASE64) {
      const keyId = metadata[KEY_ID_METADATA];
      ids.add(typeof keyId === 'string' ? Buffer.from(keyId, 'base64').toString('utf8') : '(none)');
    }
    Object.values(node).forEach(walk);
  };
  walk(history);
  return ids;
}

/**
 * Why a history with payloads encrypted under `keyIds` cannot be decoded with `keyring`, or
 * undefined when it can. Checked before replaying, because a payload the replayer cannot decode
 * surfaces as an obscure workflow task failure.
 */
export function missingPayloadKeys(
  keyIds: ReadonlySet<string>,
  keyring: Keyring | undefined,
): string | undefined {
  if (keyIds.size === 0) return undefined;
  const ids = [...keyIds].join(', ');
  if (!keyring) {
    return (
      `its payloads are encrypted (key ${ids}); a payload key is needed to replay it: ` +
      `--payload-key-file FILE, or ${PAYLOAD_KEY_ENV.keyring} / ${PAYLOAD_KEY_ENV.single}`
    );
  }
  const missing = [...keyIds].filter((id) => !keyring.keys.has(id));
  if (missing.length === 0) return undefined;
  return `payload was encrypted with key ${missing.join(', ')}; the keyring has ${[...keyring.keys.keys()].join(', ')}`;
}
