import type { PlannedCell } from '../plan';
import type { ComputedCellResult } from '../results';
import { wilsonInterval } from '../stats';
import { argmaxRows } from '../tensor/tensor';
import { gradientMaskingWarnings, type GuardRailWarning } from './guard-rails';
import type { Statistic } from './summary';
import type { AccessVector, AttackNorm } from './types';

/** One point of a robustness curve: an attack at one epsilon, worst case over its seeds. */
export interface AttackPoint {
  readonly epsilon: number;
  readonly seeds: number;
  /** Samples correct under every seed's attack, over all samples. */
  readonly robustAccuracy: number;
  /** Wilson interval of the robust accuracy. */
  readonly lower: number;
  readonly upper: number;
  /** Mean over seeds of the attack's success rate on clean-correct samples. */
  readonly successRate: number;
  /** Queries per sample over all seeds' cells: mean of means, median of medians, max of maxima. */
  readonly queries: Statistic;
  /** Mean perturbation size of the successful adversarials, averaged over seeds. */
  readonly meanLinf: number;
  readonly meanL2: number;
  readonly zeroGradientFraction: number | null;
}

/** Robust accuracy of one model under one attack (and parameter set) over its epsilons. */
export interface AttackCurve {
  readonly model: string;
  /** The condition label without its epsilon, e.g. "pgd/linf". */
  readonly attack: string;
  readonly module: string;
  readonly access: AccessVector;
  readonly norm: AttackNorm;
  readonly points: readonly AttackPoint[];
}

export interface AttackResults {
  readonly curves: readonly AttackCurve[];
  /** Gradient-masking signs per model (Athalye et al. 2018; Carlini et al. 2019). */
  readonly warnings: readonly { readonly model: string; readonly code: string; readonly message: string }[];
}

export interface AttackCellScores {
  readonly cell: PlannedCell;
  readonly result: ComputedCellResult;
  readonly scores: Float32Array;
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The curve key of an attack condition: its label without the "/eps=..." part. */
export function attackOf(condition: string): string {
  return condition.replace(/\/eps=[^/]+/, '');
}

/**
 * Robustness curves and guard rails from a run's attack cells. A sample counts as robust at an
 * epsilon only if the model still classifies it correctly under every seed's attack: random
 * restarts are the attacker's to choose, as in AutoAttack's worst case per sample.
 */
export function attackResults(
  entries: readonly AttackCellScores[],
  labels: Int32Array,
  level: number,
): AttackResults | undefined {
  const attackEntries = entries.filter(
    (entry) => entry.cell.transform.kind === 'attack' && entry.result.attack,
  );
  if (attackEntries.length === 0) return undefined;
  const groups = new Map<string, AttackCellScores[]>();
  for (const entry of attackEntries) {
    const key = `${entry.cell.modelId}\u0000${entry.cell.condition}`;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  const curves = new Map<
    string,
    { model: string; attack: string; first: AttackCellScores; points: AttackPoint[] }
  >();
  for (const group of groups.values()) {
    const first = group[0];
    const summary = first.result.attack!;
    const n = labels.length;
    const robust = new Uint8Array(n).fill(1);
    for (const entry of group) {
      const predictions = argmaxRows(entry.scores, n, entry.result.classes);
      for (let i = 0; i < n; i++) if (predictions[i] !== labels[i]) robust[i] = 0;
    }
    const robustCount = robust.reduce((sum, flag) => sum + flag, 0);
    const interval = wilsonInterval(robustCount, n, level);
    const summaries = group.map((entry) => entry.result.attack!);
    const zero = summaries
      .map((s) => s.zeroGradientFraction)
      .filter((value): value is number => value !== null);
    const point: AttackPoint = {
      epsilon: summary.epsilon,
      seeds: group.length,
      robustAccuracy: robustCount / n,
      lower: interval.lower,
      upper: interval.upper,
      successRate: mean(summaries.map((s) => s.successRate)),
      queries: {
        mean: mean(summaries.map((s) => s.queries.mean)),
        median: median(summaries.map((s) => s.queries.median)),
        max: Math.max(...summaries.map((s) => s.queries.max)),
      },
      meanLinf: mean(summaries.map((s) => s.perturbation.linf.mean)),
      meanL2: mean(summaries.map((s) => s.perturbation.l2.mean)),
      zeroGradientFraction: zero.length > 0 ? Math.max(...zero) : null,
    };
    const attack = attackOf(first.cell.condition);
    const curveKey = `${first.cell.modelId}\u0000${attack}`;
    const curve = curves.get(curveKey) ?? { model: first.cell.modelId, attack, first, points: [] };
    curve.points.push(point);
    curves.set(curveKey, curve);
  }
  const built: AttackCurve[] = [...curves.values()].map(({ model, attack, first, points }) => ({
    model,
    attack,
    module: first.result.attack!.attack,
    access: first.result.attack!.access,
    norm: first.result.attack!.norm,
    points: [...points].sort((a, b) => a.epsilon - b.epsilon),
  }));
  const warnings: AttackResults['warnings'][number][] = [];
  for (const model of [...new Set(built.map((curve) => curve.model))]) {
    const mine = built.filter((curve) => curve.model === model);
    const zero = mine
      .flatMap((curve) => curve.points.map((point) => point.zeroGradientFraction))
      .filter((value): value is number => value !== null);
    const found: GuardRailWarning[] = gradientMaskingWarnings(
      mine.flatMap((curve) =>
        curve.points.map((point) => ({
          attack: curve.attack,
          access: curve.access,
          norm: curve.norm,
          epsilon: point.epsilon,
          robustAccuracy: point.robustAccuracy,
        })),
      ),
      { zeroGradientFraction: zero.length > 0 ? Math.max(...zero) : undefined },
    );
    warnings.push(...found.map((warning) => ({ model, ...warning })));
  }
  return { curves: built, warnings };
}
