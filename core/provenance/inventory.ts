import type { BenchmarkPlan } from '../plan';
import type { BenchmarkResults, CellResult } from '../results';
import { getJson } from '../store/json';
import type { ArtifactRef, ArtifactStore } from '../store/types';

/** What an artifact is to the run; lets an auditor read the list without opening blobs. */
export type ArtifactRole =
  | 'plan'
  | 'dataset-inputs'
  | 'dataset-labels'
  | 'dataset-groups'
  | 'model'
  | 'user-module'
  | 'drift-baseline'
  | 'cell-result'
  | 'logits'
  | 'results'
  | 'gallery-image'
  | 'report';

export interface ArtifactEntry extends ArtifactRef {
  readonly role: ArtifactRole;
  /** Which model, cell or module the artifact belongs to. */
  readonly label: string;
}

/**
 * Every artifact of a finished run, in a fixed order (plan, data, models, modules, cells,
 * results, gallery): the Merkle root and `tempest verify` are computed over this list.
 */
export async function runArtifacts(
  store: ArtifactStore,
  plan: BenchmarkPlan,
  planRef: ArtifactRef,
  resultsRef: ArtifactRef,
  cellResults: readonly { readonly index: number; readonly result: ArtifactRef }[],
): Promise<ArtifactEntry[]> {
  const entries: ArtifactEntry[] = [
    { ...planRef, role: 'plan', label: plan.name },
    { ...plan.dataset.inputs, role: 'dataset-inputs', label: 'inputs' },
    { ...plan.dataset.labels, role: 'dataset-labels', label: 'labels' },
  ];
  if (plan.dataset.groups) {
    entries.push({ ...plan.dataset.groups.ids, role: 'dataset-groups', label: plan.dataset.groups.source });
  }
  for (const model of plan.models) entries.push({ ...model.blob, role: 'model', label: model.id });
  for (const source of plan.userModules) {
    if (source.kind === 'file') entries.push({ ...source.blob, role: 'user-module', label: source.path });
  }
  if (plan.drift) entries.push({ ...plan.drift.baseline, role: 'drift-baseline', label: 'baseline results' });
  for (const cell of [...cellResults].sort((a, b) => a.index - b.index)) {
    const label = `cell ${cell.index}`;
    entries.push({ ...cell.result, role: 'cell-result', label });
    const stored = await getJson<CellResult>(store, cell.result.sha256);
    entries.push({ ...stored.logits, role: 'logits', label });
  }
  entries.push({ ...resultsRef, role: 'results', label: 'results.json' });
  const results = await getJson<BenchmarkResults>(store, resultsRef.sha256);
  const images = new Set(
    results.evaluation?.galleries.flatMap((gallery) => gallery.examples.map((example) => example.png)) ?? [],
  );
  for (const sha256 of [...images].sort()) {
    const size = (await store.getBlob(sha256)).length;
    entries.push({
      sha256,
      size,
      mediaType: 'image/png',
      role: 'gallery-image',
      label: `gallery/${sha256}.png`,
    });
  }
  return entries;
}
