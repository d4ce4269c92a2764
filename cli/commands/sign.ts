import { join } from 'node:path';
import { BUNDLE_ARTIFACTS, exportBundle } from '../../client/bundle';
import { OUTPUT_FILES, writeChecksums } from '../../client/outputs';
import { TempestInputError } from '../../core/errors';
import { generateSigningKey, loadSigningKey } from '../../core/provenance/signature';
import { openArtifactStore } from '../../core/store/open';
import { defaultArtifactsDir } from '../state';

/** `tempest sign RUN --key FILE`: (re)write SHA256SUMS and sign it; `--new-key FILE` makes a key pair. */
export async function signCommand(
  run: string | undefined,
  options: { key?: string; newKey?: string },
): Promise<number> {
  if (options.newKey) {
    const { keyId, publicFile } = await generateSigningKey(options.newKey);
    console.log(`wrote ${options.newKey} (private, mode 0600) and ${publicFile}; key id ${keyId}`);
    if (!run) return 0;
  }
  if (!run)
    throw new TempestInputError(
      'name a run folder to sign, or --new-key FILE to create a key',
      'BadArguments',
    );
  const key = await loadSigningKey(options.key ?? options.newKey);
  if (!key)
    throw new TempestInputError(
      'no signing key: pass --key FILE or set TEMPEST_SIGNING_KEY',
      'BadSigningKey',
    );
  for (const file of await writeChecksums(run, key)) console.log(`wrote ${file}`);
  return 0;
}

export async function exportCommand(
  run: string,
  options: { out: string; artifacts?: string },
): Promise<number> {
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  const { files, artifacts } = await exportBundle(run, store, options.out);
  console.log(
    `wrote bundle ${options.out}: ${files} run files with ${OUTPUT_FILES.checksums}, ${artifacts} artifacts in ${join(options.out, BUNDLE_ARTIFACTS)}; check it with \`tempest verify ${options.out}\``,
  );
  return 0;
}
