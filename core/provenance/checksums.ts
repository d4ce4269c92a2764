import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * SHA256SUMS in sha256sum's own format ("<hex>  <path>" per line), so `sha256sum -c` reads it:
 * written by the run folder writer, read by `tempest verify` and `tempest export`.
 */

/** Every file below `dir`, as sorted '/'-separated paths relative to it. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

export function formatChecksums(
  entries: readonly { readonly file: string; readonly sha256: string }[],
): string {
  return `${entries.map((entry) => `${entry.sha256}  ${entry.file}`).join('\n')}\n`;
}

/** File -> sha256 of every well-formed line. */
export function parseChecksums(text: string): Map<string, string> {
  const listed = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (match) listed.set(match[2], match[1]);
  }
  return listed;
}
