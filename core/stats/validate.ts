/**
 * Argument checks shared by the statistics modules. Statistics feed reports and release gates, so
 * a count that is not a count or a level outside (0, 1) is a clear input error, never a NaN that
 * surfaces three stages later.
 */
import { TempestInputError } from '../errors';
import type { TwoByTwoCounts } from './types';

/** The `kind` of every error thrown here, for callers that branch on it. */
export const STATS_INPUT_ERROR = 'InvalidStatisticsInput';

export function statsInputError(message: string): TempestInputError {
  return new TempestInputError(message, STATS_INPUT_ERROR);
}

/** A non-negative integer count (successes, cells of a table). */
export function requireCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw statsInputError(`${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** A positive integer count (trials, pairs, resamples). */
export function requirePositiveCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw statsInputError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** `successes` out of `n` trials: 0 <= successes <= n, n >= 1. */
export function requireSuccesses(successes: number, n: number): void {
  requirePositiveCount('n', n);
  requireCount('successes', successes);
  if (successes > n) throw statsInputError(`successes (${successes}) cannot exceed n (${n})`);
}

/** A probability strictly inside (0, 1): confidence levels, significance levels, power. */
export function requireOpenUnit(name: string, value: number): number {
  if (!(typeof value === 'number' && value > 0 && value < 1)) {
    throw statsInputError(`${name} must lie strictly between 0 and 1, got ${value}`);
  }
  return value;
}

/** A probability in the closed interval [0, 1]: proportions, p-values. */
export function requireUnit(name: string, value: number): number {
  if (!(typeof value === 'number' && value >= 0 && value <= 1)) {
    throw statsInputError(`${name} must lie in [0, 1], got ${value}`);
  }
  return value;
}

export function requireFinite(name: string, value: number): number {
  if (!Number.isFinite(value)) throw statsInputError(`${name} must be a finite number, got ${value}`);
  return value;
}

export function requireNonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw statsInputError(`${name} must be a finite non-negative number, got ${value}`);
  }
  return value;
}

/** The four cells of a 2x2 table are counts; returns their total. */
export function requireTable(counts: TwoByTwoCounts): number {
  const { a, b, c, d } = counts;
  for (const [name, value] of Object.entries({ a, b, c, d })) requireCount(name, value);
  return a + b + c + d;
}
