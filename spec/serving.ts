import { z } from 'zod';

/**
 * The `serving:` section of a v2 spec: how the models would be served. After the sweep, Tempest
 * measures each model's real inference time per batch size, simulates the arrival process against
 * every (max batch, instances) configuration, re-runs evaluation samples in the server's batch
 * sizes to count predictions that batching changes, and checks the latency budget.
 */

const positiveRate = z.number().positive().finite();

export const ArrivalsSpecV2 = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('poisson').describe('Independent requests: exponential gaps at the mean rate'),
      ratePerSecond: positiveRate.describe('Mean arrival rate, requests per second'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('bursty').describe('Bursts arrive as a Poisson process, each of burstSize requests'),
      ratePerSecond: positiveRate.describe('Mean arrival rate, requests per second (bursts x burstSize)'),
      burstSize: z.number().int().min(1).max(100_000).default(16).describe('Requests per burst'),
    })
    .strict(),
]);

export const LatencyBudgetSpecV2 = z
  .object({
    p99Ms: z.number().positive().finite().describe('Largest tolerated 99th-percentile latency, ms'),
    p95Ms: z
      .number()
      .positive()
      .finite()
      .optional()
      .describe('Largest tolerated 95th-percentile latency, ms (checked with p99 on the same configuration)'),
  })
  .strict();

const batchSize = z.number().int().min(1).max(65_536);
const distinct = (values: readonly number[]) => new Set(values).size === values.length;

export const ServingSpecV2 = z
  .object({
    batchSizes: z
      .array(batchSize)
      .min(1, 'list at least one batch size')
      .default([1, 8, 32])
      .refine(distinct, 'batch sizes must be distinct')
      .describe('Maximum batch sizes of dynamic batching; predictions are also checked at each'),
    concurrency: z
      .array(z.number().int().min(1).max(256))
      .min(1, 'list at least one instance count')
      .default([1, 2])
      .refine(distinct, 'instance counts must be distinct')
      .describe('Model instances serving the one request queue'),
    arrivals: ArrivalsSpecV2.prefault({ kind: 'poisson', ratePerSecond: 500 }).describe(
      'Simulated arrival process (default Poisson at 500 requests/s)',
    ),
    requests: z
      .number()
      .int()
      .min(100)
      .max(1_000_000)
      .default(20_000)
      .describe('Simulated requests per configuration'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(0)
      .describe('Seed of the simulated arrivals (every configuration sees the same arrivals)'),
    conditions: z
      .array(z.string().min(1))
      .min(1)
      .default(['clean'])
      .describe(
        'Conditions whose predictions are re-run at the serving batch sizes: "clean", perturbation labels such as "gaussian_noise/s3", or "*" for every clean and perturbed condition (attacks are not batch functions and are skipped)',
      ),
    latencyBudget: LatencyBudgetSpecV2.optional().describe(
      'The run fails (exit 1, gate.md) when no configuration keeps the percentiles within budget',
    ),
  })
  .strict();

export type ServingSpecV2 = z.infer<typeof ServingSpecV2>;
export type ArrivalsSpecV2 = z.infer<typeof ArrivalsSpecV2>;
export type LatencyBudgetSpecV2 = z.infer<typeof LatencyBudgetSpecV2>;
