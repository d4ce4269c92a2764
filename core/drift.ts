/**
 * Baseline stability: compare a run's cells with the same (model, condition, seed) cells of an
 * earlier run, and raise an alert when a metric moved outside the baseline's confidence interval.
 * Alerts go into results and report, and to the sinks the spec names (a JSON-lines file, an HTTP
 * endpoint).
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { wilsonInterval } from './stats';

export interface DriftAlert {
  readonly kind: 'drift';
  readonly metric: 'accuracy';
  readonly model: string;
  readonly condition: string;
  readonly seed: number | null;
  readonly baseline: {
    readonly value: number;
    readonly lower: number;
    readonly upper: number;
    readonly level: number;
  };
  readonly current: number;
  /** current - baseline value. */
  readonly shift: number;
  readonly message: string;
}

/** What drift needs of a run's results: each cell's identity and correct/total counts. */
export interface DriftCell {
  readonly model: string;
  readonly condition: string;
  readonly seed: number | null;
  readonly metrics: { readonly correct: number; readonly total: number; readonly accuracy: number };
}

export function driftAlerts(
  current: readonly DriftCell[],
  baseline: readonly DriftCell[],
  level: number,
): DriftAlert[] {
  const alerts: DriftAlert[] = [];
  for (const cell of current) {
    const before = baseline.find(
      (other) => other.model === cell.model && other.condition === cell.condition && other.seed === cell.seed,
    );
    if (!before) continue;
    const interval = wilsonInterval(before.metrics.correct, before.metrics.total, level);
    const now = cell.metrics.accuracy;
    if (now >= interval.lower && now <= interval.upper) continue;
    const shift = now - interval.estimate;
    alerts.push({
      kind: 'drift',
      metric: 'accuracy',
      model: cell.model,
      condition: cell.condition,
      seed: cell.seed,
      baseline: { value: interval.estimate, lower: interval.lower, upper: interval.upper, level },
      current: now,
      shift,
      message:
        `accuracy of ${cell.model} on ${cell.condition}${cell.seed === null ? '' : ` (seed ${cell.seed})`} ` +
        `moved from ${interval.estimate.toFixed(4)} to ${now.toFixed(4)} (shift ${shift >= 0 ? '+' : ''}${shift.toFixed(4)}), ` +
        `outside the baseline's ${Math.round(level * 100)}% interval [${interval.lower.toFixed(4)}, ${interval.upper.toFixed(4)}]`,
    });
  }
  return alerts;
}

export interface AlertSinks {
  readonly file?: string;
  readonly url?: string;
}

/**
 * Deliver alerts to the sinks. Delivery may be retried (the activity can run twice), so the file
 * sink skips alerts already written for this run, and each POST carries the run id for the
 * receiver to deduplicate. An unreachable endpoint is an error, so Temporal retries it.
 */
export async function deliverAlerts(
  runId: string,
  alerts: readonly DriftAlert[],
  sinks: AlertSinks,
): Promise<string[]> {
  if (alerts.length === 0) return [];
  const delivered: string[] = [];
  if (sinks.file) {
    let existing = '';
    try {
      existing = await readFile(sinks.file, 'utf8');
    } catch {
      // a new file
    }
    const lines = alerts
      .map((alert) => JSON.stringify({ runId, ...alert }))
      .filter((line) => !existing.split('\n').includes(line));
    if (lines.length > 0) {
      await mkdir(dirname(sinks.file), { recursive: true });
      await appendFile(sinks.file, `${lines.join('\n')}\n`);
    }
    delivered.push(`file ${sinks.file}`);
  }
  if (sinks.url) {
    const response = await fetch(sinks.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'tempest', runId, alerts }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok)
      throw new Error(`alert endpoint ${sinks.url} answered ${response.status} ${response.statusText}`);
    delivered.push(`POST ${sinks.url} (${response.status})`);
  }
  return delivered;
}
