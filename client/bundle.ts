import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { ProvenanceRecord } from '../core/provenance/record';
import { LocalArtifactStore } from '../core/store/local';
import type { ArtifactStore } from '../core/store/types';
import { parseChecksums } from '../core/provenance/checksums';
import { OUTPUT_FILES } from './outputs';

/** The folder of a bundle's artifact store: `tempest verify` uses it instead of the local store. */
export const BUNDLE_ARTIFACTS = 'artifacts';
export const BUNDLE_MANIFEST = 'bundle.json';

/**
 * A publishable bundle of a run: the run folder as it is (results, run record, PROV-JSON,
 * report, history, lineage, SHA256SUMS and its signature, untouched so the signature still
 * holds), the spec as written, and an artifact store holding every artifact the run record
 * lists (plan, data, models, cell results, logits): enough for anyone to re-hash, re-execute
 * cells and critique without access to the original store.
 */
export async function exportBundle(
  runDir: string,
  store: ArtifactStore,
  outDir: string,
): Promise<{ files: number; artifacts: number }> {
  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  const checksums = await readFile(join(runDir, OUTPUT_FILES.checksums), 'utf8').catch(() => {
    throw new Error(
      `${runDir} has no ${OUTPUT_FILES.checksums}: export a run folder written by this version of Tempest`,
    );
  });
  const files = [...parseChecksums(checksums).keys()];
  for (const file of [...files, OUTPUT_FILES.checksums, OUTPUT_FILES.signature]) {
    try {
      await mkdir(dirname(join(out, file)), { recursive: true });
      await copyFile(join(runDir, file), join(out, file));
    } catch (error) {
      if (file !== OUTPUT_FILES.signature) throw error;
    }
  }
  const record = JSON.parse(await readFile(join(runDir, OUTPUT_FILES.record), 'utf8')) as ProvenanceRecord;
  const bundleStore = new LocalArtifactStore(join(out, BUNDLE_ARTIFACTS));
  const list = record.artifacts.list ?? [];
  for (const entry of list) {
    await bundleStore.putBlob(await store.getBlob(entry.sha256), entry.mediaType);
  }
  const specName = `spec-${basename(record.spec.source).replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  await writeFile(join(out, specName), record.spec.text);
  await writeFile(
    join(out, BUNDLE_MANIFEST),
    `${JSON.stringify(
      {
        apiVersion: 'tempest.bundle/v1',
        run: record.run,
        spec: specName,
        merkleRoot: record.artifacts.merkleRoot,
        artifacts: list.length,
        verify: 'npx tempest verify .',
      },
      null,
      2,
    )}\n`,
  );
  return { files: files.length, artifacts: new Set(list.map((entry) => entry.sha256)).size };
}
