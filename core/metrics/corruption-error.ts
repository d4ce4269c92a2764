/**
 * Corruption error as defined for ImageNet-C (Hendrycks & Dietterich 2019, section 4):
 *   CE_c(f)          = sum_s E_{s,c}(f) / sum_s E_{s,c}(baseline)
 *   relative CE_c(f) = sum_s (E_{s,c}(f) - E_clean(f)) / sum_s (E_{s,c}(baseline) - E_clean(baseline))
 *   mCE, relative mCE: their means over corruptions,
 * with E the top-1 error (averaged over replicate seeds) and the baseline a model the spec names
 * (AlexNet in the paper). Also the mean corruption accuracy over all corruptions and severities
 * (RobustBench's "corruptions" number) and the severity curves.
 */

export interface SeverityPoint {
  readonly severity: number;
  readonly accuracy: number;
}

export interface CorruptionScore {
  readonly corruption: string;
  /** Accuracy per severity, ascending: the severity curve. */
  readonly curve: readonly SeverityPoint[];
  readonly meanAccuracy: number;
  /** null when the baseline makes no errors at these severities (the ratio is undefined). */
  readonly ce: number | null;
  /** null without a clean condition, or when the baseline does not degrade under this corruption. */
  readonly relativeCe: number | null;
}

export interface ModelCorruptionScores {
  readonly model: string;
  readonly cleanAccuracy: number | null;
  readonly corruptions: readonly CorruptionScore[];
  /** Mean CE over the report's mCE corruptions (those with a defined CE). */
  readonly mCE: number | null;
  readonly relativeMCE: number | null;
  /** Mean accuracy over every corruption and severity. */
  readonly meanCorruptionAccuracy: number;
}

export interface CorruptionErrorReport {
  readonly baseline: string;
  /** True when all 15 ImageNet-C benchmark corruptions at severities 1-5 are present, so mCE is the paper's. */
  readonly imagenetCBenchmarkSet: boolean;
  /** The corruptions mCE averages: the 15 benchmark ones when all are present (as the paper), else all run. */
  readonly mceCorruptions: readonly string[];
  /** Corruptions whose CE or relative CE is undefined (and so left out of the means), with the reason. */
  readonly excluded: readonly {
    readonly corruption: string;
    readonly metric: 'CE' | 'relative CE';
    readonly reason: string;
  }[];
  readonly models: readonly ModelCorruptionScores[];
}

/** One (model, corruption, severity) accuracy, mean over seeds; `corruption` null for clean. */
export interface AccuracyPoint {
  readonly model: string;
  readonly corruption: string | null;
  readonly severity: number | null;
  readonly accuracy: number;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export function corruptionErrors(
  points: readonly AccuracyPoint[],
  baseline: string,
  imagenetCNames: readonly string[],
): CorruptionErrorReport {
  const corrupted = points.filter((point) => point.corruption !== null && point.severity !== null);
  const models = [...new Set(points.map((point) => point.model))];
  const corruptions = [...new Set(corrupted.map((point) => point.corruption!))];
  const curveOf = (model: string, corruption: string): SeverityPoint[] =>
    corrupted
      .filter((point) => point.model === model && point.corruption === corruption)
      .map((point) => ({ severity: point.severity!, accuracy: point.accuracy }))
      .sort((a, b) => a.severity - b.severity);
  const cleanOf = (model: string) =>
    points.find((point) => point.model === model && point.corruption === null && point.severity === null)
      ?.accuracy ?? null;
  const baselineClean = cleanOf(baseline);
  const excluded = new Map<string, { corruption: string; metric: 'CE' | 'relative CE'; reason: string }>();
  const imagenetCBenchmarkSet = imagenetCNames.every((name) =>
    [1, 2, 3, 4, 5].every((severity) =>
      corrupted.some((point) => point.corruption === name && point.severity === severity),
    ),
  );
  const mceCorruptions = imagenetCBenchmarkSet ? [...imagenetCNames] : corruptions;

  const scores = models.map((model): ModelCorruptionScores => {
    const clean = cleanOf(model);
    const perCorruption = corruptions.map((corruption): CorruptionScore => {
      const curve = curveOf(model, corruption);
      const baselineCurve = curveOf(baseline, corruption);
      const shared = curve.filter((point) =>
        baselineCurve.some((other) => other.severity === point.severity),
      );
      const errorSum = (list: readonly SeverityPoint[]) =>
        list.reduce((sum, point) => sum + (1 - point.accuracy), 0);
      const baselineShared = baselineCurve.filter((point) =>
        shared.some((other) => other.severity === point.severity),
      );
      const baselineErrors = errorSum(baselineShared);
      let ce: number | null = null;
      if (baselineErrors > 0) ce = errorSum(shared) / baselineErrors;
      else {
        const reason = `the baseline "${baseline}" makes no errors under it`;
        excluded.set(`${corruption}/CE`, { corruption, metric: 'CE', reason });
      }
      let relativeCe: number | null = null;
      if (clean !== null && baselineClean !== null) {
        const baselineDegradation = baselineErrors - baselineShared.length * (1 - baselineClean);
        if (baselineDegradation > 0)
          relativeCe = (errorSum(shared) - shared.length * (1 - clean)) / baselineDegradation;
      }
      return { corruption, curve, meanAccuracy: mean(curve.map((point) => point.accuracy)), ce, relativeCe };
    });
    const defined = (values: (number | null)[]) => values.filter((value): value is number => value !== null);
    const inMce = perCorruption.filter((score) => mceCorruptions.includes(score.corruption));
    const ces = defined(inMce.map((score) => score.ce));
    const relativeCes = defined(inMce.map((score) => score.relativeCe));
    return {
      model,
      cleanAccuracy: clean,
      corruptions: perCorruption,
      mCE: ces.length > 0 ? mean(ces) : null,
      relativeMCE: relativeCes.length > 0 ? mean(relativeCes) : null,
      meanCorruptionAccuracy: mean(
        corrupted.filter((point) => point.model === model).map((point) => point.accuracy),
      ),
    };
  });

  return {
    baseline,
    imagenetCBenchmarkSet,
    mceCorruptions,
    excluded: [...excluded.values()],
    models: scores,
  };
}
