import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { BenchmarkOutcome, WorkflowExecution } from '../activities/types';
import { sha256Hex } from '../core/hash';
import { filesUnder, formatChecksums } from '../core/provenance/checksums';
import { lineageDot, lineageMermaid, lineageOf, lineageSvg } from '../core/provenance/lineage';
import { toProvJson } from '../core/provenance/prov-json';
import type { ProvenanceRecord } from '../core/provenance/record';
import { signFile } from '../core/provenance/signature';
import { galleryImagesShown, renderHtmlReport } from '../core/report/html';
import { servingMarkdownSection } from '../core/serving/report';
import { SERVING_FILE, type ServingReport } from '../core/serving/run';
import type { BenchmarkResults } from '../core/results';
import { getJson } from '../core/store/json';
import { MEDIA_TYPES, type ArtifactStore } from '../core/store/types';

/** Store index from `workflowId.runId` to the run's exported event history. */
export const HISTORY_INDEX = 'histories';
/** Run-folder subfolder for the histories of a sharded sweep besides its final run's history.json. */
export const HISTORIES_DIR = 'histories';

/** Exported event histories of a run: its final workflow run, and for a sharded sweep all the others. */
export interface RunHistories {
  readonly final: string;
  readonly others: readonly (WorkflowExecution & { readonly json: string })[];
}

export const OUTPUT_FILES = {
  results: 'results.json',
  report: 'report.md',
  htmlReport: 'report.html',
  record: 'run.json',
  provenance: 'provenance.json',
  history: 'history.json',
  lineageDot: 'lineage.dot',
  lineageMermaid: 'lineage.mmd',
  lineageSvg: 'lineage.svg',
  checksums: 'SHA256SUMS',
  signature: 'SHA256SUMS.sig',
} as const;

/** provenance.json is a pure function of run.json, so `tempest verify` can re-derive and compare it. */
export function provenanceJsonOf(record: ProvenanceRecord): string {
  return `${JSON.stringify(toProvJson(record), null, 2)}\n`;
}

/** Files derived from the run record: the PROV-JSON document and the lineage graph. */
export function derivedFiles(record: ProvenanceRecord): Record<string, string> {
  const graph = lineageOf(record);
  return {
    [OUTPUT_FILES.provenance]: provenanceJsonOf(record),
    [OUTPUT_FILES.lineageDot]: lineageDot(graph),
    [OUTPUT_FILES.lineageMermaid]: lineageMermaid(graph),
    [OUTPUT_FILES.lineageSvg]: lineageSvg(graph),
  };
}

/**
 * SHA256SUMS of every file of a run folder (sha256sum's format, so `sha256sum -c` checks it too),
 * and, with a key, its detached ed25519 signature: signing the list signs every file in it.
 */
export async function writeChecksums(dir: string, signingKey?: KeyObject): Promise<string[]> {
  const skip = new Set<string>([OUTPUT_FILES.checksums, OUTPUT_FILES.signature]);
  const entries: { file: string; sha256: string }[] = [];
  for (const file of await filesUnder(dir)) {
    if (!skip.has(file)) entries.push({ file, sha256: sha256Hex(await readFile(join(dir, file))) });
  }
  const checksums = new TextEncoder().encode(formatChecksums(entries));
  await writeFile(join(dir, OUTPUT_FILES.checksums), checksums);
  const written = [join(dir, OUTPUT_FILES.checksums)];
  if (signingKey) {
    const signature = signFile(OUTPUT_FILES.checksums, checksums, signingKey);
    await writeFile(join(dir, OUTPUT_FILES.signature), `${JSON.stringify(signature, null, 2)}\n`);
    written.push(join(dir, OUTPUT_FILES.signature));
  }
  return written;
}

/**
 * Copy a finished run's artifacts from the store into `outDir`, byte for byte (reads are
 * verified against their hashes), plus the exported event history when there is one, the
 * PROV-JSON document and lineage graph derived from the run record, and SHA256SUMS (signed when
 * a key is given).
 */
export async function writeRunOutputs(
  store: ArtifactStore,
  outcome: BenchmarkOutcome,
  outDir: string,
  histories?: RunHistories,
  options: {
    readonly signingKey?: KeyObject;
    /** The spec's `serving:` figures, measured after the run: serving.json and report sections. */
    readonly serving?: ServingReport;
  } = {},
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
  await copy(OUTPUT_FILES.report, outcome.report?.sha256);
  const { serving } = options;
  if (serving) {
    await writeFile(join(dir, SERVING_FILE), `${JSON.stringify(serving, null, 2)}\n`);
    written.push(join(dir, SERVING_FILE));
    // Appended after the stored bytes, below a marker, so verify can still check the stored part.
    if (outcome.report)
      await appendFile(join(dir, OUTPUT_FILES.report), `\n${servingMarkdownSection(serving)}`);
  }
  await copy(OUTPUT_FILES.record, outcome.provenance?.sha256);
  const results = outcome.results && (await getJson<BenchmarkResults>(store, outcome.results.sha256));
  const record = outcome.provenance && (await getJson<ProvenanceRecord>(store, outcome.provenance.sha256));
  if (results) {
    // The report links the failure gallery's images as gallery/<sha256>.png.
    const images = new Set(
      results.evaluation?.galleries.flatMap((gallery) => gallery.examples.map((example) => example.png)) ??
        [],
    );
    if (images.size > 0) {
      await mkdir(join(dir, 'gallery'), { recursive: true });
      for (const sha256 of images) {
        await writeFile(join(dir, 'gallery', `${sha256}.png`), await store.getBlob(sha256));
      }
      written.push(`${join(dir, 'gallery')} (${images.size} images)`);
    }
  }
  if (record) {
    for (const [name, text] of Object.entries(derivedFiles(record))) {
      await writeFile(join(dir, name), text);
      written.push(join(dir, name));
    }
  }
  if (results && record) {
    // report.html is rendered here rather than stored: it embeds the gallery images it shows.
    const images = new Map<string, Uint8Array>();
    for (const sha256 of galleryImagesShown(results)) images.set(sha256, await store.getBlob(sha256));
    await writeFile(
      join(dir, OUTPUT_FILES.htmlReport),
      renderHtmlReport({ results, provenance: record, images, attacks: results.attacks?.curves, serving }),
    );
    written.push(join(dir, OUTPUT_FILES.htmlReport));
  }
  if (histories) {
    await writeFile(join(dir, OUTPUT_FILES.history), histories.final);
    written.push(join(dir, OUTPUT_FILES.history));
    // The store keeps the histories too, indexed by workflow and run id, so they outlive the run folder.
    const keep = async (execution: WorkflowExecution, json: string) => {
      const history = await store.putBlob(new TextEncoder().encode(json), MEDIA_TYPES.json);
      await store.setIndex(HISTORY_INDEX, `${execution.workflowId}.${execution.runId}`, history);
    };
    if (record) await keep(record.run, histories.final);
    if (histories.others.length > 0) {
      // A sharded sweep: earlier runs of the continue-as-new chain and every shard, replayed by verify too.
      await mkdir(join(dir, HISTORIES_DIR), { recursive: true });
      for (const other of histories.others) {
        await writeFile(join(dir, HISTORIES_DIR, `${other.workflowId}.${other.runId}.json`), other.json);
        await keep(other, other.json);
      }
      written.push(`${join(dir, HISTORIES_DIR)} (${histories.others.length} histories)`);
    }
  }
  written.push(...(await writeChecksums(dir, options.signingKey)));
  return written;
}
