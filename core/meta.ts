/**
 * One effect summarised across several runs (other data slices, datasets, seeds or dates): each
 * run's paired comparisons give an accuracy difference and its sampling variance, and a
 * DerSimonian-Laird random-effects model pools them per (kind, A, B) — the "does this hold
 * beyond one test set?" question a single run cannot answer.
 */
import { TempestInputError } from './errors';
import type { Comparison } from './evaluation';
import type { RunSelection } from './compare';
import { derSimonianLaird, type RandomEffectsResult } from './stats';

export interface RunEffect {
  readonly run: string;
  readonly samples: number;
  readonly estimate: number;
  readonly variance: number;
}

export interface PooledEffect {
  readonly kind: Comparison['kind'];
  readonly a: string;
  readonly b: string;
  readonly runs: readonly RunEffect[];
  readonly pooled: RandomEffectsResult;
}

/**
 * Variance of a paired difference of proportions from its discordant counts (Agresti 2013,
 * "Categorical Data Analysis", 3rd ed., eq. 11.2): var = ((b + c)/n - ((c - b)/n)^2) / n.
 * Half a pseudo-count on each discordant cell keeps it positive when the two sides never
 * disagree (a study with zero variance would otherwise take all the weight).
 */
export function pairedDifferenceVariance(aOnlyCorrect: number, bOnlyCorrect: number, n: number): number {
  const b = aOnlyCorrect + 0.5;
  const c = bOnlyCorrect + 0.5;
  const total = n + 1;
  return ((b + c) / total - ((c - b) / total) ** 2) / total;
}

const sideLabel = (side: Comparison['a']): string => `${side.model} ${side.condition}`;

/**
 * The effect of each run for one comparison key. A run with several replicate seeds contributes
 * one effect: the mean over its seeds, with the mean of their variances (the seeds share the
 * same samples, so they are not independent studies; this is the conservative choice).
 */
function runEffect(run: string, comparisons: readonly Comparison[]): RunEffect {
  const count = comparisons.length;
  return {
    run,
    samples: comparisons[0].samples,
    estimate: comparisons.reduce((sum, c) => sum + c.difference.estimate, 0) / count,
    variance:
      comparisons.reduce(
        (sum, c) => sum + pairedDifferenceVariance(c.mcnemar.aOnlyCorrect, c.mcnemar.bOnlyCorrect, c.samples),
        0,
      ) / count,
  };
}

/** Pool every comparison (kind, A, B) that at least two of the runs made. */
export function metaAnalyzeRuns(
  runs: readonly RunSelection[],
  options: { readonly level?: number; readonly kind?: Comparison['kind'] } = {},
): PooledEffect[] {
  if (runs.length < 2) {
    throw new TempestInputError(
      `a meta-analysis needs at least 2 runs, got ${runs.length}`,
      'NothingToCompare',
    );
  }
  const byKey = new Map<string, { kind: Comparison['kind']; a: string; b: string; runs: RunEffect[] }>();
  for (const run of runs) {
    const comparisons = run.results.evaluation?.comparisons;
    if (!comparisons) {
      throw new TempestInputError(
        `${run.label} has no evaluation in its results.json; rerun it with this version of Tempest`,
        'NothingToCompare',
      );
    }
    const grouped = new Map<string, Comparison[]>();
    for (const comparison of comparisons) {
      if (options.kind !== undefined && comparison.kind !== options.kind) continue;
      if (run.model !== undefined && comparison.a.model !== run.model && comparison.b.model !== run.model)
        continue;
      const key = [comparison.kind, sideLabel(comparison.a), sideLabel(comparison.b)].join('\u0000');
      grouped.set(key, [...(grouped.get(key) ?? []), comparison]);
    }
    for (const [key, members] of grouped) {
      const entry = byKey.get(key) ?? {
        kind: members[0].kind,
        a: sideLabel(members[0].a),
        b: sideLabel(members[0].b),
        runs: [],
      };
      entry.runs.push(runEffect(run.label, members));
      byKey.set(key, entry);
    }
  }
  const pooled = [...byKey.values()]
    .filter((entry) => entry.runs.length >= 2)
    .map((entry) => ({
      ...entry,
      pooled: derSimonianLaird(
        entry.runs.map((run) => run.estimate),
        entry.runs.map((run) => run.variance),
        options.level ?? 0.95,
      ),
    }));
  if (pooled.length === 0) {
    throw new TempestInputError(
      `the runs share no comparison (same kind, models and conditions) to pool: ${runs.map((run) => run.label).join(', ')}`,
      'NothingToCompare',
    );
  }
  return pooled;
}
