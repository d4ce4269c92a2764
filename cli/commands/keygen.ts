import { readFile, writeFile } from 'node:fs/promises';
import { generateKeyringFile, parseKeyring, PayloadKeyError, type KeyringFile } from '../../core/codec';

/** Owner read/write only: the file is the key. */
const KEY_FILE_MODE = 0o600;

/**
 * Write a fresh keyring (one random AES-256 key, current) to `out`, or print it. With `rotate`,
 * add a new current key to the existing file and keep the old ones, so histories they encrypted
 * still decode.
 */
export async function keygenCommand(options: { out?: string; rotate: boolean }): Promise<number> {
  const fresh = generateKeyringFile();
  if (!options.out) {
    if (options.rotate) throw new PayloadKeyError('--rotate needs --out FILE, the keyring to add a key to');
    process.stdout.write(JSON.stringify(fresh, null, 2) + '\n');
    return 0;
  }
  if (options.rotate) {
    const text = await readFile(options.out, 'utf8').catch(() => {
      throw new PayloadKeyError(`cannot read keyring ${options.out} to rotate`);
    });
    const existing = parseKeyring(text, options.out);
    const keys = Object.fromEntries(
      [...existing.keys].map(([id, key]) => [id, Buffer.from(key).toString('base64')]),
    );
    const rotated: KeyringFile = { current: fresh.current, keys: { ...keys, ...fresh.keys } };
    await writeFile(options.out, JSON.stringify(rotated, null, 2) + '\n', { mode: KEY_FILE_MODE });
    console.log(`added key ${fresh.current} to ${options.out} as current; older keys still decode`);
    return 0;
  }
  try {
    // 'wx': never overwrite a keyring; losing a key loses every history it encrypted.
    await writeFile(options.out, JSON.stringify(fresh, null, 2) + '\n', { mode: KEY_FILE_MODE, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new PayloadKeyError(`${options.out} exists; use --rotate to add a new key to it`);
    }
    throw error;
  }
  console.log(`wrote keyring ${options.out} (key ${fresh.current}, mode 600)`);
  return 0;
}
