import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { TempestInputError } from '../errors';

/** AES-256 needs exactly 32 key bytes. */
export const KEY_BYTES = 32;
/** Key ids travel in payload metadata and error messages: keep them short and printable. */
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** The id TEMPEST_PAYLOAD_KEY's single key gets. */
export const DEFAULT_KEY_ID = 'default';

export const PAYLOAD_KEY_ENV = {
  /** A whole keyring as JSON: {"current": id, "keys": {id: base64}}. */
  keyring: 'TEMPEST_PAYLOAD_KEYS',
  /** One base64 key, id "default". */
  single: 'TEMPEST_PAYLOAD_KEY',
} as const;

/**
 * The payload keys a process knows. Encoding always uses `current`; decoding accepts any key in
 * `keys`, so a key can be rotated by adding a new one and making it current while the old one
 * stays listed for the histories it encrypted.
 */
export interface Keyring {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Uint8Array>;
}

export class PayloadKeyError extends TempestInputError {
  override readonly name = 'PayloadKeyError';
  constructor(message: string) {
    super(message, 'PayloadKey');
  }
}

/** The serialized form: what `tempest keygen` writes and --payload-key-file / TEMPEST_PAYLOAD_KEYS hold. */
export interface KeyringFile {
  current: string;
  keys: Record<string, string>;
}

function decodeKey(id: string, base64: unknown, source: string): Uint8Array {
  if (typeof base64 !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(base64.trim())) {
    throw new PayloadKeyError(`${source}: key "${id}" must be a base64 string of ${KEY_BYTES} bytes`);
  }
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length !== KEY_BYTES) {
    throw new PayloadKeyError(
      `${source}: key "${id}" is ${bytes.length} bytes; AES-256-GCM needs ${KEY_BYTES} ` +
        '(generate one with `tempest keygen`)',
    );
  }
  return new Uint8Array(bytes);
}

/** Check a parsed keyring document; every problem names the source and the key. */
export function keyringFromObject(value: unknown, source: string): Keyring {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PayloadKeyError(`${source}: expected {current: <key id>, keys: {<key id>: <base64 key>}}`);
  }
  const { current, keys } = value as Partial<KeyringFile>;
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys) || Object.keys(keys).length === 0) {
    throw new PayloadKeyError(`${source}: "keys" must map at least one key id to a base64 key`);
  }
  const decoded = new Map<string, Uint8Array>();
  for (const [id, base64] of Object.entries(keys)) {
    if (!KEY_ID.test(id)) {
      throw new PayloadKeyError(`${source}: key id "${id}" may only use letters, digits, ".", "_" and "-"`);
    }
    decoded.set(id, decodeKey(id, base64, source));
  }
  if (typeof current !== 'string' || !decoded.has(current)) {
    throw new PayloadKeyError(
      `${source}: "current" must name one of the keys (${[...decoded.keys()].join(', ')}); got ${JSON.stringify(current)}`,
    );
  }
  return { current, keys: decoded };
}

/** Parse keyring text, JSON or YAML (JSON is YAML, so one parser serves both). */
export function parseKeyring(text: string, source: string): Keyring {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new PayloadKeyError(
      `${source}: not valid JSON or YAML: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  return keyringFromObject(value, source);
}

/**
 * The keyring configured for this process, or undefined when payloads are not encrypted:
 * --payload-key-file first, then TEMPEST_PAYLOAD_KEYS, then TEMPEST_PAYLOAD_KEY.
 */
export async function loadKeyring(
  options: { keyFile?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Keyring | undefined> {
  const env = options.env ?? process.env;
  if (options.keyFile) {
    let text: string;
    try {
      text = await readFile(options.keyFile, 'utf8');
    } catch (error) {
      throw new PayloadKeyError(
        `cannot read payload key file ${options.keyFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    return parseKeyring(text, options.keyFile);
  }
  const keyringJson = env[PAYLOAD_KEY_ENV.keyring];
  if (keyringJson) return parseKeyring(keyringJson, PAYLOAD_KEY_ENV.keyring);
  const single = env[PAYLOAD_KEY_ENV.single];
  if (single) {
    return {
      current: DEFAULT_KEY_ID,
      keys: new Map([[DEFAULT_KEY_ID, decodeKey(DEFAULT_KEY_ID, single, PAYLOAD_KEY_ENV.single)]]),
    };
  }
  return undefined;
}

/** A fresh single-key keyring; the id carries the date so rotated keys are easy to tell apart. */
export function generateKeyringFile(now = new Date()): KeyringFile {
  const id = `k${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
  return { current: id, keys: { [id]: randomBytes(KEY_BYTES).toString('base64') } };
}
