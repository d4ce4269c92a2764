/**
 * Summary of a metric over replicate seeds: mean, sample standard deviation (n - 1 divisor) and
 * the Student t interval mean -+ t_{1-alpha/2, n-1} s / sqrt(n) (Student 1908, "The probable error
 * of a mean", Biometrika 6:1-25; e.g. NIST/SEMATECH e-Handbook of Statistical Methods, section
 * 7.2.2.1). One replicate has no spread, so it gets no interval.
 */
import { tCritical } from './critical';
import type { ConfidenceInterval } from './types';
import {
  requireFinite,
  requireNonNegative,
  requireOpenUnit,
  requirePositiveCount,
  statsInputError,
} from './validate';

export interface ReplicateSummary {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n - 1 divisor); null for a single replicate. */
  readonly sd: number | null;
  /** sd / sqrt(n); null for a single replicate. */
  readonly standardError: number | null;
  /** Student t interval of the mean; null for a single replicate. */
  readonly interval: ConfidenceInterval | null;
}

/** Student t interval of a mean from its summary statistics (n >= 2). */
export function meanTInterval(mean: number, sd: number, n: number, level = 0.95): ConfidenceInterval {
  requireFinite('mean', mean);
  requireNonNegative('sd', sd);
  requirePositiveCount('n', n);
  requireOpenUnit('level', level);
  if (n < 2) throw statsInputError('a t interval needs at least 2 values (n - 1 degrees of freedom)');
  const halfWidth = (tCritical(level, n - 1) * sd) / Math.sqrt(n);
  return { estimate: mean, lower: mean - halfWidth, upper: mean + halfWidth, level, method: 'student-t' };
}

/** Mean, SD and t interval of one metric over replicate seeds. */
export function replicateSummary(values: ArrayLike<number>, level = 0.95): ReplicateSummary {
  requireOpenUnit('level', level);
  const n = values.length;
  if (n === 0) throw statsInputError('replicate summary of no values (n = 0)');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += requireFinite(`values[${i}]`, values[i]);
  const mean = sum / n;
  if (n === 1) return { n, mean, sd: null, standardError: null, interval: null };
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i] - mean) * (values[i] - mean);
  const sd = Math.sqrt(squares / (n - 1));
  return { n, mean, sd, standardError: sd / Math.sqrt(n), interval: meanTInterval(mean, sd, n, level) };
}
