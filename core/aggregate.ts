import { attackResults } from './attack/curves';
import { CELL_INDEX } from './cell';
import { decodeNpy } from './data/npy';
import { driftAlerts, type DriftCell } from './drift';
import { evaluateRun } from './evaluation';
import { scoreKindOfOutput } from './metrics/classification';
import type { BenchmarkPlan } from './plan';
import type { BenchmarkResources } from './resources';
import {
  buildResults,
  splitApplicable,
  type BenchmarkResults,
  type CellResult,
  type StoredCell,
  type StoredEvaluation,
} from './results';
import { getJson, putReadableJson } from './store/json';
import { MEDIA_TYPES, type ArtifactRef } from './store/types';

/**
 * The `aggregate` stage: gather every cell's stored result of a plan into results.json, with the
 * run's evaluation (gallery images stored as PNG blobs) and, when asked, the drift check.
 * Not-applicable cells (attacks the model cannot undergo) are listed with their reason and kept
 * out of every statistic: the evaluation, comparisons, curves and drift see computed cells only.
 */
export async function aggregateStoredResults(
  resources: BenchmarkResources,
  plan: BenchmarkPlan,
  onProgress?: () => Promise<void> | void,
): Promise<{ results: BenchmarkResults; ref: ArtifactRef }> {
  const { store } = resources;
  const stored: StoredCell[] = [];
  for (const cell of plan.cells) {
    const ref = await store.getIndex(CELL_INDEX, cell.key);
    if (!ref)
      throw new Error(
        `cell ${cell.index} (${cell.key}) has no stored result; it must run before aggregation`,
      );
    stored.push({ index: cell.index, ref, result: await getJson<CellResult>(store, ref.sha256) });
  }
  const { computed } = splitApplicable(stored);
  const data = await resources.data(plan);
  const scores = await Promise.all(
    computed.map(
      async ({ result }) => decodeNpy(await store.getBlob(result.logits.sha256)).values as Float32Array,
    ),
  );
  const groups = plan.dataset.groups && {
    source: plan.dataset.groups.source,
    ids: decodeNpy(await store.getBlob(plan.dataset.groups.ids.sha256)).values as Int32Array,
  };
  const declaredScoreKinds = new Map(
    plan.models.map((model) => [model.id, scoreKindOfOutput(model.io?.outputKind)]),
  );
  const evaluation = await evaluateRun({
    cells: computed.map(({ index, result }, position) => ({
      cell: plan.cells[index],
      scores: scores[position],
      classes: result.classes,
      scoreKind: declaredScoreKinds.get(plan.cells[index].modelId),
    })),
    data,
    dataHash: plan.dataset.hash,
    groups,
    classNames: classNamesOf(plan),
    features: plan.dataset.features,
    profile: () => resources.profile(plan, data),
    catalog: await resources.catalog(plan),
    statistics: plan.statistics,
    onProgress,
  });
  const storedEvaluation: StoredEvaluation = {
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
  const built = buildResults(plan, stored);
  let drift: BenchmarkResults['drift'];
  if (plan.drift) {
    const baseline = await getJson<{ cells: DriftCell[] }>(store, plan.drift.baseline.sha256);
    drift = {
      baseline: plan.drift.baseline.sha256,
      alerts: driftAlerts(built.cells, baseline.cells, plan.statistics.level),
    };
  }
  const attacks = attackResults(
    computed.map(({ index, result }, position) => ({
      cell: plan.cells[index],
      result,
      scores: scores[position],
    })),
    data.labels,
    plan.statistics.level,
  );
  const results: BenchmarkResults = {
    ...built,
    evaluation: storedEvaluation,
    drift,
    ...(attacks && { attacks }),
  };
  return { results, ref: await putReadableJson(store, results) };
}

/**
 * The class names reports use: the ones the models declare (models[i].classNames) when those that
 * declare them agree, else the data's own (image-folder subfolders); none when they disagree.
 */
export function classNamesOf(plan: BenchmarkPlan): readonly string[] | undefined {
  const declared = plan.models.flatMap((model) => (model.io?.classNames ? [model.io.classNames] : []));
  const first = declared[0];
  if (!first) return plan.dataset.classNames;
  const agree = declared.every(
    (names) => names.length === first.length && names.every((name, index) => name === first[index]),
  );
  return agree ? first : undefined;
}
