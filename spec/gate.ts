import { z } from 'zod';

/**
 * A release gate over a finished run: thresholds on metrics (or on their confidence bounds) and
 * regressions against a baseline run. Checked by `tempest gate RUN --policy FILE`.
 */
export const MetricRuleV1 = z
  .object({
    name: z.string().min(1).optional(),
    model: z.string().min(1),
    /** A condition label such as "clean" or "gaussian_noise/s3"; "*" for every condition of the model. */
    condition: z.string().min(1).default('clean'),
    metric: z.enum(['accuracy', 'ece', 'worst_group_accuracy', 'flip_rate', 'mce']),
    /** Which number the threshold applies to: the estimate, or a bound of its confidence interval. */
    use: z.enum(['estimate', 'lower', 'upper']).default('estimate'),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .strict()
  .refine((rule) => rule.min !== undefined || rule.max !== undefined, 'give min, max or both');

export const RegressionRuleV1 = z
  .object({
    name: z.string().min(1).optional(),
    /** The baseline run: an output folder or its results.json, relative to the policy file. */
    baseline: z.string().min(1),
    model: z.string().min(1),
    /** Conditions to check; default every condition both runs have. */
    conditions: z.array(z.string().min(1)).optional(),
    /** Largest tolerated accuracy drop (absolute). */
    maxDrop: z.number().min(0).max(1).default(0),
    /** A drop larger than maxDrop fails only when it is also significant at this level (paired test). */
    alpha: z.number().gt(0).lt(0.5).default(0.05),
  })
  .strict();

export const GatePolicyV1 = z
  .object({
    apiVersion: z.literal('tempest.gate/v1'),
    rules: z.array(MetricRuleV1).default([]),
    regressions: z.array(RegressionRuleV1).default([]),
  })
  .strict()
  .refine((policy) => policy.rules.length + policy.regressions.length > 0, 'the policy has no rules');

export type GatePolicyV1 = z.infer<typeof GatePolicyV1>;
export type MetricRuleV1 = z.infer<typeof MetricRuleV1>;
export type RegressionRuleV1 = z.infer<typeof RegressionRuleV1>;
