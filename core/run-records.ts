import { captureEnvironment } from './provenance/environment';
import { runArtifacts } from './provenance/inventory';
import { artifactMerkleRoot } from './provenance/merkle';
import { buildProvenance, type CellActivityRecord, type ProvenanceRecord } from './provenance/record';
import type { BenchmarkPlan } from './plan';
import { renderMarkdownReport } from './report/markdown';
import type { BenchmarkResults } from './results';
import { getJson, putReadableJson } from './store/json';
import { MEDIA_TYPES, type ArtifactRef, type ArtifactStore } from './store/types';

/**
 * The `finalize` stage: the run record (run.json, with this machine's environment, every artifact
 * of the run and their Merkle root) and report.md. provenance.json, the record in PROV-JSON form,
 * is derived from the record when the run folder is written.
 */
export async function writeRunRecords(args: {
  store: ArtifactStore;
  plan: BenchmarkPlan;
  planRef: ArtifactRef;
  resultsRef: ArtifactRef;
  spec: { source: string; text: string };
  run: Omit<ProvenanceRecord['run'], 'finishedAt'>;
  cells: readonly (CellActivityRecord & { readonly resultRef: ArtifactRef })[];
}): Promise<{ report: ArtifactRef; provenance: ArtifactRef }> {
  const { store, plan } = args;
  const common = {
    plan,
    planRef: args.planRef,
    resultsRef: args.resultsRef,
    storeUri: store.uri,
    spec: args.spec,
    run: { ...args.run, finishedAt: new Date().toISOString() },
    environment: captureEnvironment(),
    cells: args.cells.map(({ resultRef: _, ...cell }) => cell),
  };
  const results = await getJson<BenchmarkResults>(store, args.resultsRef.sha256);
  // The report shows the record's summary (ids, environment, counts), none of which depends on the
  // artifact list, so it is rendered first and then joins the list the Merkle root covers.
  const report = await store.putBlob(
    new TextEncoder().encode(renderMarkdownReport(results, buildProvenance(common))),
    MEDIA_TYPES.markdown,
  );
  const cellResults = args.cells.map((cell) => ({ index: cell.index, result: cell.resultRef }));
  const list = [
    ...(await runArtifacts(store, plan, args.planRef, args.resultsRef, cellResults)),
    { ...report, role: 'report' as const, label: 'report.md' },
  ];
  const record = buildProvenance({
    ...common,
    artifacts: { report, list, merkleRoot: artifactMerkleRoot(list.map((artifact) => artifact.sha256)) },
  });
  return { provenance: await putReadableJson(store, record), report };
}
