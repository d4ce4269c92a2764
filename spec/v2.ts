import { z } from 'zod';
import { MetricRuleV1, RegressionRuleV1 } from './gate';
import { ServingSpecV2 } from './serving';
import {
  benchmarkFieldsV1,
  identifier,
  moduleVersion,
  withBenchmarkChecks,
  type BenchmarkSpecV1,
} from './v1';

/**
 * Spec v2 adds what v1 could not say:
 * - `attacks`: adversarial attacks (white-box through the model's gradient graph, score- and
 *   decision-based black-box with query budgets), each over a list of epsilons;
 * - `gate`: the release gate inside the spec, checked at the end of `tempest run` (exit 1 when it
 *   fails), so one command benchmarks and gates in CI;
 * - `serving`: deployment conditions measured after the sweep (latency under simulated traffic,
 *   predictions under the server's batch sizes) and an optional latency budget that gates the run.
 * Every v1 spec is a valid v2 spec once its apiVersion is changed (`tempest spec migrate`).
 */
export const AttackSpecV2 = z
  .object({
    attack: identifier.describe('Built-in attack name, e.g. pgd, apgd-ce, square, hop-skip-jump, autoattack'),
    version: moduleVersion,
    /** Perturbation budgets; each is a condition (0 = the clean accuracy on the same samples). */
    epsilons: z.array(z.number().nonnegative().finite()).min(1, 'list at least one epsilon'),
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("The attack's parameters (norm, steps, queryBudget, ...)"),
  })
  .strict();

export const InlineGateV2 = z
  .object({
    rules: z.array(MetricRuleV1).default([]),
    /** Baselines are resolved relative to the spec file. */
    regressions: z.array(RegressionRuleV1).default([]),
  })
  .strict()
  .refine((gate) => gate.rules.length + gate.regressions.length > 0, 'the gate has no rules');

export const BenchmarkSpecV2 = withBenchmarkChecks(
  z
    .object({
      apiVersion: z.literal('tempest/v2'),
      ...benchmarkFieldsV1,
      attacks: z.array(AttackSpecV2).default([]),
      gate: InlineGateV2.optional(),
      // Optional without a default: a spec that leaves it out parses to the same object (and the
      // same spec hash) as before the section existed.
      serving: ServingSpecV2.optional(),
    })
    .strict(),
).superRefine((spec, ctx) => {
  // Latency is measured on real samples, so the largest batch needs that many of them.
  const largest = spec.serving ? Math.max(...spec.serving.batchSizes) : 0;
  if (spec.dataset.samples !== undefined && largest > spec.dataset.samples) {
    ctx.addIssue({
      code: 'custom',
      path: ['serving', 'batchSizes'],
      message: `batch size ${largest} is larger than dataset.samples (${spec.dataset.samples}); latency is measured on real samples`,
    });
  }
});

export type BenchmarkSpecV2 = z.infer<typeof BenchmarkSpecV2>;
export type AttackSpecV2 = z.infer<typeof AttackSpecV2>;
export type InlineGateV2 = z.infer<typeof InlineGateV2>;

/** v1 -> v2: the fields are unchanged; the new sections start empty. */
export function migrateV1ToV2(spec: BenchmarkSpecV1): BenchmarkSpecV2 {
  return { ...spec, apiVersion: 'tempest/v2', attacks: [] };
}
