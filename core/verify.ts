/**
 * `tempest verify`: the audit of a finished run folder (or an exported bundle). Every check says
 * what it looked at and what it found, so a failed audit names the altered file or artifact.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cellResultSha256, evaluateStoredCell } from './cell';
import { sha256Hex } from './hash';
import { isNotApplicable } from './results';
import { filesUnder, parseChecksums } from './provenance/checksums';
import { ArtifactCorruptedError, ArtifactNotFoundError } from './errors';
import type { ArtifactEntry } from './provenance/inventory';
import { artifactMerkleRoot } from './provenance/merkle';
import type { ProvenanceRecord } from './provenance/record';
import { checkSignature, type ProvenanceSignature } from './provenance/signature';
import { BenchmarkResources } from './resources';
import { SERVING_SECTION_MARKER } from './serving/report';
import { planConsistency, SERVING_FILE, type ServingReport } from './serving/run';
import { deriveKey, sampleStream } from './rng/keyed';
import type { ArtifactStore } from './store/types';

export interface VerifyCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface VerifyOptions {
  readonly store: ArtifactStore;
  /** Cells to re-execute from scratch (a seeded sample); 0 skips re-execution. */
  readonly reexecute: number;
  readonly seed: number;
  /** The signer's public key the verifier trusts; without it a signature only proves integrity. */
  readonly trustedKey?: KeyObject;
  /** Derived files (provenance.json, lineage) recomputed from run.json, to compare. */
  readonly derive: (record: ProvenanceRecord) => Record<string, string>;
  readonly checksumsFile: string;
  readonly signatureFile: string;
  readonly recordFile: string;
  readonly onProgress?: (message: string) => void;
}

/** Files of a run folder the store also holds, by the role of their artifact. */
const FOLDER_COPIES: Partial<Record<ArtifactEntry['role'], (entry: ArtifactEntry) => string>> = {
  results: () => 'results.json',
  report: () => 'report.md',
  'gallery-image': (entry) => `gallery/${entry.sha256}.png`,
};

/**
 * The bytes of a folder file that the store holds. report.md may end with a Serving section
 * measured after the run (a spec's `serving:`), appended below a marker: the part above it is the
 * stored report. The appended part is covered by SHA256SUMS like every other file.
 */
function storedPart(role: ArtifactEntry['role'], bytes: Buffer): Buffer {
  if (role !== 'report') return bytes;
  const at = bytes.indexOf(`\n${SERVING_SECTION_MARKER}`);
  return at === -1 ? bytes : bytes.subarray(0, at);
}

/** SHA256SUMS: every listed file re-hashed; unlisted files reported (they are not covered). */
async function checkChecksums(
  dir: string,
  options: VerifyOptions,
): Promise<{ checks: VerifyCheck[]; bytes?: Uint8Array }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, options.checksumsFile));
  } catch {
    return {
      checks: [
        {
          check: 'checksums',
          ok: false,
          detail: `${options.checksumsFile} is missing: the folder's files cannot be checked`,
        },
      ],
    };
  }
  const listed = parseChecksums(new TextDecoder().decode(bytes));
  const checks: VerifyCheck[] = [];
  const altered: string[] = [];
  const missing: string[] = [];
  for (const [file, expected] of listed) {
    try {
      if (sha256Hex(await readFile(join(dir, file))) !== expected) altered.push(file);
    } catch {
      missing.push(file);
    }
  }
  const ignored = new Set([options.checksumsFile, options.signatureFile]);
  const unlisted = (await filesUnder(dir)).filter(
    (file) => !listed.has(file) && !ignored.has(file) && !file.startsWith('artifacts/'),
  );
  checks.push({
    check: 'checksums',
    ok: altered.length === 0 && missing.length === 0,
    detail:
      altered.length + missing.length === 0
        ? `${listed.size} files match ${options.checksumsFile}`
        : [
            ...altered.map((file) => `${file} was altered (sha256 differs from ${options.checksumsFile})`),
            ...missing.map((file) => `${file} is missing`),
          ].join('; '),
  });
  if (unlisted.length > 0) {
    checks.push({
      check: 'unlisted files',
      ok: true,
      detail: `not covered by ${options.checksumsFile}: ${unlisted.join(', ')}`,
    });
  }
  return { checks, bytes };
}

async function checkSignatureFile(
  dir: string,
  checksums: Uint8Array | undefined,
  options: VerifyOptions,
): Promise<VerifyCheck> {
  let signature: ProvenanceSignature;
  try {
    signature = JSON.parse(await readFile(join(dir, options.signatureFile), 'utf8')) as ProvenanceSignature;
  } catch {
    return options.trustedKey
      ? {
          check: 'signature',
          ok: false,
          detail: `${options.signatureFile} is missing but --public-key asks for a signed run`,
        }
      : { check: 'signature', ok: true, detail: 'not signed (sign runs with --sign-key or `tempest sign`)' };
  }
  if (!checksums) return { check: 'signature', ok: false, detail: `${options.checksumsFile} is missing` };
  const result = checkSignature(signature, checksums, options.trustedKey);
  return { check: 'signature', ...result };
}

/** Every artifact of the record re-read from the store (reads verify sha256) and the Merkle root recomputed. */
async function checkArtifacts(
  dir: string,
  record: ProvenanceRecord,
  options: VerifyOptions,
): Promise<VerifyCheck[]> {
  const list = record.artifacts.list ?? [];
  const problems: string[] = [];
  for (const entry of list) {
    try {
      const bytes = await options.store.getBlob(entry.sha256);
      if (bytes.length !== entry.size)
        problems.push(
          `${entry.role} ${entry.label} (${entry.sha256}) has ${bytes.length} bytes, recorded ${entry.size}`,
        );
    } catch (error) {
      if (error instanceof ArtifactCorruptedError)
        problems.push(`${entry.role} ${entry.label} (${entry.sha256}) is corrupted in the store`);
      else if (error instanceof ArtifactNotFoundError)
        problems.push(`${entry.role} ${entry.label} (${entry.sha256}) is missing from the store`);
      else throw error;
    }
    const copy = FOLDER_COPIES[entry.role]?.(entry);
    if (copy) {
      try {
        if (sha256Hex(storedPart(entry.role, await readFile(join(dir, copy)))) !== entry.sha256)
          problems.push(`${copy} differs from artifact ${entry.sha256} recorded in run.json`);
      } catch {
        problems.push(`${copy} is missing from the folder`);
      }
    }
  }
  const root = artifactMerkleRoot(list.map((entry) => entry.sha256));
  return [
    {
      check: 'artifacts',
      ok: problems.length === 0,
      detail:
        problems.length === 0
          ? `${list.length} artifacts re-hashed in ${options.store.uri}`
          : problems.join('; '),
    },
    {
      check: 'merkle root',
      ok: root === record.artifacts.merkleRoot,
      detail:
        root === record.artifacts.merkleRoot
          ? `${root} over ${new Set(list.map((entry) => entry.sha256)).size} artifacts`
          : `recomputed ${root}, recorded ${record.artifacts.merkleRoot ?? 'none'}`,
    },
  ];
}

async function checkDerived(
  dir: string,
  record: ProvenanceRecord,
  options: VerifyOptions,
): Promise<VerifyCheck> {
  const differing: string[] = [];
  for (const [name, text] of Object.entries(options.derive(record))) {
    try {
      if ((await readFile(join(dir, name), 'utf8')) !== text) differing.push(name);
    } catch {
      differing.push(`${name} (missing)`);
    }
  }
  return {
    check: 'derived records',
    ok: differing.length === 0,
    detail:
      differing.length === 0
        ? 'provenance.json and the lineage graph match run.json'
        : `do not match run.json: ${differing.join(', ')}`,
  };
}

/** A seeded sample of the run's cells, the same for the same seed (so an audit can be repeated). */
export function sampleCells(count: number, size: number, seed: number): number[] {
  const stream = sampleStream(deriveKey({ verify: seed }), 0);
  const indices = Array.from({ length: count }, (_, i) => i);
  // Partial Fisher-Yates: the first `size` positions end up a uniform sample without replacement.
  for (let i = 0; i < Math.min(size, count); i++) {
    const j = i + Math.floor(stream.uniform() * (count - i));
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices.slice(0, Math.min(size, count)).sort((a, b) => a - b);
}

async function checkReexecution(record: ProvenanceRecord, options: VerifyOptions): Promise<VerifyCheck> {
  const chosen = sampleCells(record.cells.length, options.reexecute, options.seed);
  const resources = new BenchmarkResources(options.store);
  const differing: string[] = [];
  let notApplicable = 0;
  try {
    for (const position of chosen) {
      const cell = record.cells[position];
      options.onProgress?.(`re-executing cell ${cell.index} (${cell.key.slice(0, 12)})`);
      const { result } = await evaluateStoredCell({
        resources,
        planSha256: record.artifacts.plan.sha256,
        index: cell.index,
        key: cell.key,
      });
      // A not-applicable cell is decided again from the model's graph: the same reason, the same bytes.
      if (isNotApplicable(result)) notApplicable++;
      const sha256 = cellResultSha256(result);
      if (sha256 !== cell.result)
        differing.push(`cell ${cell.index}: recomputed ${sha256}, recorded ${cell.result}`);
    }
  } finally {
    await resources.close();
  }
  return {
    check: 're-execution',
    ok: differing.length === 0,
    detail:
      differing.length === 0
        ? `${chosen.length} of ${record.cells.length} cells (seed ${options.seed}: ${chosen.map((p) => record.cells[p].index).join(', ')}) recomputed from scratch to the same bytes` +
          (notApplicable > 0 ? ` (${notApplicable} of them not applicable, with the same reason)` : '')
        : differing.join('; '),
  };
}

/**
 * serving.json's deterministic half recomputed from the plan (predictions at each serving batch
 * size); its measured half (latency) is machine- and load-dependent and deliberately not compared.
 */
async function checkServingConsistency(
  dir: string,
  record: ProvenanceRecord,
  options: VerifyOptions,
): Promise<VerifyCheck | undefined> {
  let serving: ServingReport;
  try {
    serving = JSON.parse(await readFile(join(dir, SERVING_FILE), 'utf8')) as ServingReport;
  } catch {
    return undefined;
  }
  if (serving.benchmark.plan !== record.artifacts.plan.sha256) {
    return {
      check: 'serving consistency',
      ok: false,
      detail: `${SERVING_FILE} names plan ${serving.benchmark.plan}, run.json ${record.artifacts.plan.sha256}`,
    };
  }
  const resources = new BenchmarkResources(options.store);
  try {
    options.onProgress?.(`recomputing ${SERVING_FILE} consistency`);
    const plan = await resources.plan(record.artifacts.plan.sha256);
    const rows = await planConsistency(resources, plan, serving.settings);
    const differing = rows.filter(
      (row, i) => JSON.stringify(row) !== JSON.stringify(serving.consistency.rows[i]),
    );
    const same = differing.length === 0 && rows.length === serving.consistency.rows.length;
    return {
      check: 'serving consistency',
      ok: same,
      detail: same
        ? `${rows.length} (model, condition, batch size) rows of ${SERVING_FILE} recomputed to the same figures (latency is measured, not compared)`
        : `recomputed rows differ from ${SERVING_FILE}: ${
            differing.map((row) => `${row.model} ${row.condition} batch ${row.batchSize}`).join(', ') ||
            'different row count'
          }`,
    };
  } finally {
    await resources.close();
  }
}

export async function verifyRunFolder(dir: string, options: VerifyOptions): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  const { checks: checksumChecks, bytes } = await checkChecksums(dir, options);
  checks.push(...checksumChecks);
  checks.push(await checkSignatureFile(dir, bytes, options));
  let record: ProvenanceRecord;
  try {
    record = JSON.parse(await readFile(join(dir, options.recordFile), 'utf8')) as ProvenanceRecord;
  } catch (error) {
    checks.push({
      check: 'run record',
      ok: false,
      detail: `${options.recordFile}: ${(error as Error).message}`,
    });
    return checks;
  }
  checks.push(...(await checkArtifacts(dir, record, options)));
  checks.push(await checkDerived(dir, record, options));
  if (options.reexecute > 0) {
    checks.push(await checkReexecution(record, options));
    const serving = await checkServingConsistency(dir, record, options);
    if (serving) checks.push(serving);
  }
  return checks;
}
