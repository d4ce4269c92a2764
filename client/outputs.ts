import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BenchmarkOutcome } from '../activities/types';
import type { ProvenanceRecord } from '../core/provenance/record';
import { galleryImagesShown, renderHtmlReport } from '../core/report/html';
import type { BenchmarkResults } from '../core/results';
import { getJson } from '../core/store/json';
import type { ArtifactStore } from '../core/store/types';

export const OUTPUT_FILES = {
  results: 'results.json',
  report: 'report.md',
  htmlReport: 'report.html',
  provenance: 'provenance.json',
  history: 'history.json',
} as const;

/**
 * Copy a finished run's artifacts from the store into `outDir`, byte for byte (reads are
 * verified against their hashes), plus the exported event history when there is one.
 */
export async function writeRunOutputs(
  store: ArtifactStore,
  outcome: BenchmarkOutcome,
  outDir: string,
  historyJson?: string,
): Promise<string[]> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const copy = async (name: string, sha256: string | undefined) => {
    if (!sha256) return;
    await writeFile(join(dir, name), await store.getBlob(sha256));
    written.push(join(dir, name));
  };
  await copy(OUTPUT_FILES.results, outcome.results?.sha256);
  if (outcome.results) {
    // The report links the failure gallery's images as gallery/<sha256>.png.
    const results = await getJson<BenchmarkResults>(store, outcome.results.sha256);
    const images =
      results.evaluation?.galleries.flatMap((gallery) => gallery.examples.map((example) => example.png)) ??
      [];
    if (images.length > 0) {
      await mkdir(join(dir, 'gallery'), { recursive: true });
      for (const sha256 of new Set(images)) {
        await writeFile(join(dir, 'gallery', `${sha256}.png`), await store.getBlob(sha256));
      }
      written.push(`${join(dir, 'gallery')} (${new Set(images).size} images)`);
    }
  }
  await copy(OUTPUT_FILES.report, outcome.report?.sha256);
  await copy(OUTPUT_FILES.provenance, outcome.provenance?.sha256);
  if (outcome.results && outcome.provenance) {
    // report.html is rendered here rather than stored: it embeds the gallery images it shows.
    const results = await getJson<BenchmarkResults>(store, outcome.results.sha256);
    const provenance = await getJson<ProvenanceRecord>(store, outcome.provenance.sha256);
    const images = new Map<string, Uint8Array>();
    for (const sha256 of galleryImagesShown(results)) images.set(sha256, await store.getBlob(sha256));
    await writeFile(join(dir, OUTPUT_FILES.htmlReport), renderHtmlReport({ results, provenance, images }));
    written.push(join(dir, OUTPUT_FILES.htmlReport));
  }
  if (historyJson !== undefined) {
    await writeFile(join(dir, OUTPUT_FILES.history), historyJson);
    written.push(join(dir, OUTPUT_FILES.history));
  }
  return written;
}
