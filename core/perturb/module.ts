import type { z } from 'zod';
import type { FeatureInfo } from '../data/dataset';
import type { DatasetProfile } from '../data/profile';
import type { PhiloxStream } from '../rng/philox';
import type { Tensor } from '../tensor/tensor';

export type InputKind = 'image' | 'tabular';

export interface PerturbationContext {
  /** The random stream of the sample at `firstSampleIndex + i` of the dataset. */
  readonly streamFor: (sampleIndex: number) => PhiloxStream;
  /** Dataset index of the batch's first sample, so a sample's noise never depends on batching. */
  readonly firstSampleIndex: number;
  /** Tabular data: what each feature is (absent for images). */
  readonly features?: readonly FeatureInfo[];
  /**
   * Statistics of the whole clean dataset (tabular data), for modules whose severities are defined
   * relative to the data. Computed once per dataset, on first use.
   */
  readonly profile: () => DatasetProfile;
}

/**
 * A perturbation: a pure, versioned function over a batch. Its output bytes are a function of
 * (input bytes, params, random streams) only; any change to them is a version bump, and the
 * version is part of every cell key that uses it.
 */
export interface PerturbationModule<Params extends Record<string, unknown> = Record<string, unknown>> {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  /** Where the definition comes from, e.g. the paper and table it follows. */
  readonly reference: string;
  readonly inputKind: InputKind;
  /** Whether output depends on the random stream; deterministic modules get one cell, not one per seed. */
  readonly stochastic: boolean;
  readonly params: z.ZodType<Params>;
  /** Parameters of severity 1..5; undefined for modules without a severity scale. */
  severityParams?(severity: number): Params;
  apply(batch: Tensor, params: Params, context: PerturbationContext): Tensor;
}

export function moduleId(module: { name: string; version: string }): string {
  return `${module.name}@${module.version}`;
}
