import { captureEnvironment } from './provenance/environment';
import { buildProvenance, type CellActivityRecord, type ProvenanceRecord } from './provenance/record';
import type { BenchmarkPlan } from './plan';
import { renderMarkdownReport } from './report/markdown';
import type { BenchmarkResults } from './results';
import { getJson, putReadableJson } from './store/json';
import { MEDIA_TYPES, type ArtifactRef, type ArtifactStore } from './store/types';

/** The `finalize` stage: provenance.json (with this machine's environment) and report.md of a run. */
export async function writeRunRecords(args: {
  store: ArtifactStore;
  plan: BenchmarkPlan;
  planRef: ArtifactRef;
  resultsRef: ArtifactRef;
  spec: { source: string; text: string };
  run: Omit<ProvenanceRecord['run'], 'finishedAt'>;
  cells: readonly CellActivityRecord[];
}): Promise<{ report: ArtifactRef; provenance: ArtifactRef }> {
  const { store, plan } = args;
  const provenance = buildProvenance({
    plan,
    planRef: args.planRef,
    resultsRef: args.resultsRef,
    storeUri: store.uri,
    spec: args.spec,
    run: { ...args.run, finishedAt: new Date().toISOString() },
    environment: captureEnvironment(),
    cells: args.cells,
  });
  const results = await getJson<BenchmarkResults>(store, args.resultsRef.sha256);
  return {
    provenance: await putReadableJson(store, provenance),
    report: await store.putBlob(
      new TextEncoder().encode(renderMarkdownReport(results, provenance)),
      MEDIA_TYPES.markdown,
    ),
  };
}
