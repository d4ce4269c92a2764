import { availableParallelism, cpus, platform } from 'node:os';
import { batchTransform } from '../cell';
import { TempestInputError } from '../errors';
import type { BenchmarkPlan, PlannedCell } from '../plan';
import type { BenchmarkResources } from '../resources';
import type { ServingSpecV2 } from '../../spec/serving';
import { batchingConsistency, type ConsistencyRow } from './consistency';
import { measureServingLatency, type LatencySettings, type ModelLatency } from './latency';

/**
 * The `serving:` section of a spec, run on a finished benchmark's plan: serving.json in the run
 * folder. It keeps the two kinds of figures apart: `consistency` is computed (the same bytes on
 * every re-execution), `latency` is measured (wall clock on this machine, never compared).
 */
export interface ServingReport {
  readonly apiVersion: 'tempest.serving/v1';
  readonly benchmark: { readonly name: string; readonly specHash: string; readonly plan: string };
  readonly settings: ServingSpecV2;
  readonly consistency: {
    readonly deterministic: true;
    readonly note: string;
    readonly rows: readonly ConsistencyRow[];
  };
  readonly latency: {
    readonly measured: true;
    readonly note: string;
    readonly machine: { readonly cpu: string; readonly cores: number; readonly platform: string };
    readonly threads: number;
    readonly models: readonly ({ readonly model: string; readonly modelSha256: string } & ModelLatency)[];
  };
}

export const SERVING_FILE = 'serving.json';

export function latencySettingsOf(serving: ServingSpecV2): LatencySettings {
  return {
    batchSizes: serving.batchSizes,
    concurrency: serving.concurrency,
    arrivals: serving.arrivals,
    requests: serving.requests,
    seed: serving.seed,
    budget: serving.latencyBudget,
  };
}

interface Target {
  readonly condition: string;
  /** The cell whose perturbation is replayed (its first seed); absent for clean. */
  readonly cell?: PlannedCell;
}

/** The conditions of `serving.conditions` for one model: "clean", labels, or "*" for all but attacks. */
function targetsFor(plan: BenchmarkPlan, modelId: string, conditions: readonly string[]): Target[] {
  const cells = plan.cells.filter((cell) => cell.modelId === modelId);
  const perturbed = new Map<string, PlannedCell>();
  for (const cell of cells) {
    if (cell.transform.kind === 'perturbation' && !perturbed.has(cell.condition))
      perturbed.set(cell.condition, cell);
  }
  const labels = conditions.includes('*') ? ['clean', ...perturbed.keys()] : conditions;
  return [...new Set(labels)].map((condition) => {
    if (condition === 'clean') return { condition };
    const cell = perturbed.get(condition);
    if (!cell) {
      throw new TempestInputError(
        `serving.conditions: "${condition}" is not a clean or perturbed condition of this benchmark`,
        'BadSpec',
      );
    }
    return { condition, cell };
  });
}

/** The deterministic half: predictions at every serving batch size against the evaluation's. */
export async function planConsistency(
  resources: BenchmarkResources,
  plan: BenchmarkPlan,
  serving: ServingSpecV2,
  onProgress?: (message: string) => void,
): Promise<ConsistencyRow[]> {
  const data = await resources.data(plan);
  const rows: ConsistencyRow[] = [];
  for (const planned of plan.models) {
    const model = await resources.model(plan, planned.sha256, planned.id);
    for (const target of targetsFor(plan, planned.id, serving.conditions)) {
      onProgress?.(
        `serving: predictions of ${planned.id} on ${target.condition} at batch sizes ${serving.batchSizes.join(', ')}`,
      );
      // The cell's own perturbation with its seeded streams: the perturbed inputs are the bytes
      // the run evaluated, so only the batching differs.
      const transform = target.cell
        ? batchTransform({
            cell: target.cell,
            catalog: await resources.catalog(plan),
            dataHash: plan.dataset.hash,
            features: plan.dataset.features,
            profile: () => resources.profile(plan, data),
          })
        : undefined;
      rows.push(
        ...(await batchingConsistency({
          runner: resources.runnerFor(plan.threads),
          model,
          modelId: planned.id,
          condition: target.condition,
          data,
          referenceBatchSize: plan.batchSize,
          batchSizes: serving.batchSizes,
          transform,
        })),
      );
    }
  }
  return rows;
}

/** Both halves for a finished run's plan. */
export async function measureRunServing(args: {
  readonly resources: BenchmarkResources;
  readonly planSha256: string;
  readonly serving: ServingSpecV2;
  readonly onProgress?: (message: string) => void;
}): Promise<ServingReport> {
  const { resources, serving } = args;
  const plan = await resources.plan(args.planSha256);
  const data = await resources.data(plan);
  if (Math.max(...serving.batchSizes) > data.labels.length) {
    throw new TempestInputError(
      `serving.batchSizes: batch size ${Math.max(...serving.batchSizes)} needs that many samples; the dataset has ${data.labels.length}`,
      'BadSpec',
    );
  }
  const rows = await planConsistency(resources, plan, serving, args.onProgress);
  const models: ServingReport['latency']['models'][number][] = [];
  for (const planned of plan.models) {
    args.onProgress?.(`serving: measuring inference time of ${planned.id}`);
    const model = await resources.model(plan, planned.sha256, planned.id);
    const latency = await measureServingLatency(
      resources.runnerFor(plan.threads),
      model,
      data.inputs,
      latencySettingsOf(serving),
    );
    models.push({ model: planned.id, modelSha256: planned.sha256, ...latency });
  }
  return {
    apiVersion: 'tempest.serving/v1',
    benchmark: { name: plan.name, specHash: plan.specHash, plan: args.planSha256 },
    settings: serving,
    consistency: {
      deterministic: true,
      note:
        `predictions at each serving batch size compared with those at the evaluation batch size ` +
        `(${plan.batchSize}), on the same samples; reproducible: \`tempest verify --reexecute\` recomputes them`,
      rows,
    },
    latency: {
      measured: true,
      note: 'wall-clock measurements on this machine (see machine) fed to a simulated queue; they vary from run to run and are not part of reproducibility checks',
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), platform: platform() },
      threads: plan.threads.intraOpThreads,
      models,
    },
  };
}
