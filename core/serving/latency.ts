import type { LoadedModel, ModelRunner } from '../model/runner';
import { deriveKey, sampleStream } from '../rng/keyed';
import type { Tensor } from '../tensor/tensor';
import { measureServiceTimes, type ServiceTimes } from './measure';
import { simulateServing, type ArrivalProcess, type ServingStats } from './simulate';

/**
 * Latency under serving conditions, shared by `tempest serving` and the `serving:` section of a
 * run: real service times per batch size, then the simulated queue for every (max batch,
 * instances) configuration, then the latency budget. These are wall-clock measurements: they
 * depend on the machine and its load, and are never compared for reproducibility.
 */
export interface LatencyBudget {
  readonly p99Ms: number;
  readonly p95Ms?: number;
}

export interface LatencySettings {
  readonly batchSizes: readonly number[];
  readonly concurrency: readonly number[];
  readonly arrivals: ArrivalProcess;
  readonly requests: number;
  readonly seed: number;
  readonly budget?: LatencyBudget;
}

export interface ConfigurationLatency {
  readonly maxBatch: number;
  readonly concurrency: number;
  /** Requests per second the instances could serve if always busy with full batches. */
  readonly capacityPerSecond: number;
  readonly stats: ServingStats;
  /** Within every percentile of the budget; absent without a budget. */
  readonly withinBudget?: boolean;
}

export interface BudgetVerdict {
  readonly budget: LatencyBudget;
  readonly passed: boolean;
  /** Why it failed, naming the budget, the best configuration and what to try; absent when it passed. */
  readonly failure?: string;
}

export interface ModelLatency {
  readonly serviceTimes: ServiceTimes['measured'];
  readonly configurations: readonly ConfigurationLatency[];
  /** The configuration with the lowest p99. */
  readonly best: ConfigurationLatency;
  readonly verdict?: BudgetVerdict;
}

export const MEASURE_REPEATS = 30;

const within = (stats: ServingStats, budget: LatencyBudget) =>
  stats.p99Ms <= budget.p99Ms && (budget.p95Ms === undefined || stats.p95Ms <= budget.p95Ms);

export const configurationLabel = (configuration: ConfigurationLatency): string =>
  `max batch ${configuration.maxBatch}, ${configuration.concurrency} instance(s)`;

function verdictOf(
  configurations: readonly ConfigurationLatency[],
  best: ConfigurationLatency,
  budget: LatencyBudget,
): BudgetVerdict {
  if (configurations.some((configuration) => configuration.withinBudget)) return { budget, passed: true };
  // Name the percentile no configuration meets on its own; when each is met somewhere but never
  // together, say so.
  const p99Met = configurations.some((c) => c.stats.p99Ms <= budget.p99Ms);
  const p95Met = budget.p95Ms === undefined || configurations.some((c) => c.stats.p95Ms <= budget.p95Ms!);
  const failed = [
    ...(p99Met ? [] : [`p99 within ${budget.p99Ms} ms`]),
    ...(p95Met ? [] : [`p95 within ${budget.p95Ms} ms`]),
  ];
  const what =
    failed.length > 0
      ? `no configuration keeps ${failed.join(' or ')}`
      : `no configuration keeps both p99 within ${budget.p99Ms} ms and p95 within ${budget.p95Ms} ms`;
  return {
    budget,
    passed: false,
    failure:
      `${what} (best: ${configurationLabel(best)}, p99 ${best.stats.p99Ms.toFixed(2)} ms, ` +
      `p95 ${best.stats.p95Ms.toFixed(2)} ms, utilization ${best.stats.utilization.toFixed(2)}); ` +
      'try more instances, a smaller max batch, or a lower arrival rate',
  };
}

/** Measure one model and simulate every configuration; `samples` needs max(batchSizes) of them. */
export async function measureServingLatency(
  runner: ModelRunner,
  model: LoadedModel,
  samples: Tensor,
  settings: LatencySettings,
): Promise<ModelLatency> {
  const times = await measureServiceTimes(runner, model, samples, settings.batchSizes, MEASURE_REPEATS);
  const configurations: ConfigurationLatency[] = [];
  for (const maxBatch of settings.batchSizes) {
    for (const concurrency of settings.concurrency) {
      // Every configuration sees the same arrivals: the comparison is paired.
      const stream = sampleStream(deriveKey({ serving: settings.seed, arrivals: settings.arrivals }), 0);
      const stats = simulateServing(
        {
          arrivals: settings.arrivals,
          concurrency,
          maxBatch,
          serviceMs: times.serviceMs,
          requests: settings.requests,
        },
        stream,
      );
      configurations.push({
        maxBatch,
        concurrency,
        capacityPerSecond: (concurrency * maxBatch * 1000) / times.serviceMs(maxBatch),
        stats,
        ...(settings.budget && { withinBudget: within(stats, settings.budget) }),
      });
    }
  }
  const best = configurations.reduce((a, b) => (b.stats.p99Ms < a.stats.p99Ms ? b : a));
  return {
    serviceTimes: times.measured,
    configurations,
    best,
    ...(settings.budget && { verdict: verdictOf(configurations, best, settings.budget) }),
  };
}
