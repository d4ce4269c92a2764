import { percent, table, type TableData } from '../report/markdown';
import type { ConsistencyRow } from './consistency';
import {
  configurationLabel,
  MEASURE_REPEATS,
  type BudgetVerdict,
  type LatencyBudget,
  type LatencySettings,
  type ModelLatency,
} from './latency';
import { latencySettingsOf, type ServingReport } from './run';

/**
 * Serving figures as text: the same TableData for the `tempest serving` output, report.md and
 * report.html, so the command and the run cannot format them differently.
 */

const budgetHeader = (settings: LatencySettings) =>
  settings.budget
    ? `within budget (p99 <= ${settings.budget.p99Ms} ms${settings.budget.p95Ms === undefined ? '' : `, p95 <= ${settings.budget.p95Ms} ms`})`
    : 'within budget';

export function latencyTableData(latency: ModelLatency, settings: LatencySettings): TableData {
  return {
    header: [
      'max batch',
      'instances',
      'capacity req/s',
      'utilization',
      'mean batch',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'throughput req/s',
      budgetHeader(settings),
    ],
    rows: latency.configurations.map((configuration) => [
      String(configuration.maxBatch),
      String(configuration.concurrency),
      configuration.capacityPerSecond.toFixed(0),
      configuration.stats.utilization.toFixed(2),
      configuration.stats.meanBatch.toFixed(1),
      configuration.stats.p50Ms.toFixed(2),
      configuration.stats.p95Ms.toFixed(2),
      configuration.stats.p99Ms.toFixed(2),
      configuration.stats.throughputPerSecond.toFixed(0),
      configuration.withinBudget === undefined ? '–' : configuration.withinBudget ? 'yes' : '**no**',
    ]),
  };
}

export function serviceTimesText(latency: ModelLatency, threads: number): string {
  return (
    `Measured ORT inference (median of ${MEASURE_REPEATS} after warm-up, ${threads} thread(s)): ` +
    latency.serviceTimes
      .map((point) => `batch ${point.batch} ${point.medianMs.toFixed(2)} ms (p95 ${point.p95Ms.toFixed(2)})`)
      .join(', ')
  );
}

export function arrivalsText(settings: LatencySettings): string {
  const { arrivals } = settings;
  return (
    `${settings.requests} requests, ${arrivals.kind} arrivals at ${arrivals.ratePerSecond}/s` +
    `${arrivals.kind === 'bursty' ? ` in bursts of ${arrivals.burstSize}` : ''}, dynamic batching, seed ${settings.seed}.`
  );
}

export const bestText = (latency: ModelLatency): string =>
  `lowest p99: ${configurationLabel(latency.best)} (${latency.best.stats.p99Ms.toFixed(2)} ms)`;

/** Measured figures of one model as Markdown lines: service times, arrivals, table, best. */
export function latencyMarkdown(latency: ModelLatency, settings: LatencySettings, threads: number): string[] {
  const data = latencyTableData(latency, settings);
  return [
    serviceTimesText(latency, threads),
    '',
    arrivalsText(settings),
    '',
    table(data.header, data.rows),
    '',
    bestText(latency),
  ];
}

export function consistencyTableData(rows: readonly ConsistencyRow[]): TableData {
  return {
    header: [
      'model',
      'condition',
      'batch',
      'accuracy',
      `accuracy at batch ${rows[0]?.referenceBatchSize ?? '?'}`,
      'changed predictions',
      'change rate',
      'max score difference',
    ],
    rows: rows.map((row) => [
      row.model,
      `\`${row.condition}\``,
      String(row.batchSize),
      percent(row.accuracy),
      percent(row.referenceAccuracy),
      `${row.flips} of ${row.samples}`,
      percent(row.flipRate),
      row.maxScoreDifference.toExponential(2),
    ]),
  };
}

/**
 * Where the run folder's report.md stops being the stored report: the Serving section is measured
 * after the run, so it is appended below this line and `tempest verify` compares only the part
 * above it with the artifact recorded in run.json (SHA256SUMS still covers the whole file).
 */
export const SERVING_SECTION_MARKER =
  '<!-- tempest:serving: measured after the run, not part of the stored report -->';

/** Where the latency figures come from, and that they are not reproducible figures. */
export const measuredText = (report: ServingReport): string =>
  `Latency: measured on ${report.latency.machine.cpu} x${report.latency.machine.cores} ` +
  `(${report.latency.machine.platform}), wall clock, so it varies from run to run; \`tempest verify\` does not compare it.`;

/** The Serving section of report.md. */
export function servingMarkdownSection(report: ServingReport): string {
  const settings = latencySettingsOf(report.settings);
  const consistency = consistencyTableData(report.consistency.rows);
  return [
    SERVING_SECTION_MARKER,
    '## Serving',
    '',
    `Batching: ${report.consistency.note}.`,
    '',
    table(consistency.header, consistency.rows),
    '',
    measuredText(report),
    '',
    ...report.latency.models.flatMap((model) => [
      `### ${model.model}`,
      '',
      ...latencyMarkdown(model, settings, report.latency.threads),
      ...(model.verdict ? ['', budgetLine(model.model, model.verdict)] : []),
      '',
    ]),
  ].join('\n');
}

const budgetText = (budget: LatencyBudget) =>
  `p99 <= ${budget.p99Ms} ms${budget.p95Ms === undefined ? '' : `, p95 <= ${budget.p95Ms} ms`}`;

const budgetLine = (model: string, verdict: BudgetVerdict) =>
  verdict.passed
    ? `Latency budget (${budgetText(verdict.budget)}): **met** by ${model}.`
    : `Latency budget (${budgetText(verdict.budget)}): **FAILED** for ${model}: ${verdict.failure}.`;

/** The latency budget as a gate: undefined without a budget, else pass/fail and gate.md text. */
export function servingGate(report: ServingReport): { passed: boolean; markdown: string } | undefined {
  const budget = report.settings.latencyBudget;
  if (!budget) return undefined;
  const verdicts = report.latency.models.flatMap((model) =>
    model.verdict ? [{ model: model.model, verdict: model.verdict }] : [],
  );
  const passed = verdicts.every((entry) => entry.verdict.passed);
  return {
    passed,
    markdown: [
      `## Serving latency budget: ${passed ? 'PASSED' : 'FAILED'}`,
      '',
      `Budget ${budgetText(budget)} under ${arrivalsText(latencySettingsOf(report.settings))} ` +
        'Each model needs at least one (max batch, instances) configuration within it; latencies are measured, see serving.json.',
      '',
      table(
        ['', 'model', 'detail'],
        verdicts.map(({ model, verdict }) => [
          verdict.passed ? 'pass' : '**FAIL**',
          model,
          verdict.passed
            ? `within budget; ${bestText(report.latency.models.find((m) => m.model === model)!)}`
            : verdict.failure!,
        ]),
      ),
      '',
    ].join('\n'),
  };
}
