import { attackResults } from './attack/curves';
import { CELL_INDEX } from './cell';
import { decodeNpy } from './data/npy';
import { driftAlerts, type DriftCell } from './drift';
import { evaluateRun } from './evaluation';
import type { BenchmarkPlan } from './plan';
import type { BenchmarkResources } from './resources';
import { buildResults, type BenchmarkResults, type CellResult, type StoredEvaluation } from './results';
import { getJson, putReadableJson } from './store/json';
import { MEDIA_TYPES, type ArtifactRef } from './store/types';

/**
 * The `aggregate` stage: gather every cell's stored result of a plan into results.json, with the
 * run's evaluation (gallery images stored as PNG blobs) and, when asked, the drift check.
 */
export async function aggregateStoredResults(
  resources: BenchmarkResources,
  plan: BenchmarkPlan,
  onProgress?: () => Promise<void> | void,
): Promise<{ results: BenchmarkResults; ref: ArtifactRef }> {
  const { store } = resources;
  const refs: ArtifactRef[] = [];
  const cellResults: CellResult[] = [];
  for (const cell of plan.cells) {
    const ref = await store.getIndex(CELL_INDEX, cell.key);
    if (!ref)
      throw new Error(
        `cell ${cell.index} (${cell.key}) has no stored result; it must run before aggregation`,
      );
    refs.push(ref);
    cellResults.push(await getJson<CellResult>(store, ref.sha256));
  }
  const data = await resources.data(plan);
  const scores = await Promise.all(
    cellResults.map(
      async (result) => decodeNpy(await store.getBlob(result.logits.sha256)).values as Float32Array,
    ),
  );
  const groups = plan.dataset.groups && {
    source: plan.dataset.groups.source,
    ids: decodeNpy(await store.getBlob(plan.dataset.groups.ids.sha256)).values as Int32Array,
  };
  const evaluation = await evaluateRun({
    cells: plan.cells.map((cell, index) => ({
      cell,
      scores: scores[index],
      classes: cellResults[index].classes,
    })),
    data,
    dataHash: plan.dataset.hash,
    groups,
    features: plan.dataset.features,
    profile: () => resources.profile(plan, data),
    catalog: await resources.catalog(plan),
    statistics: plan.statistics,
    onProgress,
  });
  const stored: StoredEvaluation = {
    ...evaluation,
    galleries: await Promise.all(
      evaluation.galleries.map(async (gallery) => ({
        ...gallery,
        examples: await Promise.all(
          gallery.examples.map(async (example) => ({
            ...example,
            png: (await store.putBlob(example.png, MEDIA_TYPES.png)).sha256,
          })),
        ),
      })),
    ),
  };
  const built = buildResults(plan, cellResults, refs);
  let drift: BenchmarkResults['drift'];
  if (plan.drift) {
    const baseline = await getJson<{ cells: DriftCell[] }>(store, plan.drift.baseline.sha256);
    drift = {
      baseline: plan.drift.baseline.sha256,
      alerts: driftAlerts(built.cells, baseline.cells, plan.statistics.level),
    };
  }
  const attacks = attackResults(
    plan.cells.map((cell, index) => ({ cell, result: cellResults[index], scores: scores[index] })),
    data.labels,
    plan.statistics.level,
  );
  const results: BenchmarkResults = { ...built, evaluation: stored, drift, ...(attacks && { attacks }) };
  return { results, ref: await putReadableJson(store, results) };
}
