import type { ProvenanceRecord } from '../provenance/record';
import type { BootstrapDifference, RunComparison } from '../compare';
import type { Comparison } from '../evaluation';
import type { PooledEffect } from '../meta';
import { attackOf } from '../attack/curves';
import type { BenchmarkResults, StoredEvaluation } from '../results';

export const percent = (value: number): string => `${(value * 100).toFixed(2)}%`;

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * A report table's header and formatted cells (Markdown inline syntax: `code` spans). report.md
 * and report.html draw the same TableData, so their numbers cannot drift apart.
 */
export interface TableData {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const markdownTable = (data: TableData): string => table(data.header, data.rows);

export const ratio = (value: number | null): string => (value === null ? '–' : value.toFixed(3));

/** The corruption tables: mCE per model, accuracy and CE per corruption, severity curves. */
export function corruptionTables(report: NonNullable<BenchmarkResults['corruptionError']>): {
  models: TableData;
  corruptions: TableData;
  curves: TableData;
} {
  const models = report.models.map((model) => model.model);
  const corruptions = report.models[0]?.corruptions.map((score) => score.corruption) ?? [];
  const scoreOf = (model: string, corruption: string) =>
    report.models
      .find((entry) => entry.model === model)!
      .corruptions.find((score) => score.corruption === corruption)!;
  const severities = [
    ...new Set(
      report.models.flatMap((model) => model.corruptions.flatMap((c) => c.curve.map((p) => p.severity))),
    ),
  ].sort();
  return {
    models: {
      header: ['model', 'clean accuracy', 'mean corruption accuracy', 'mCE', 'relative mCE'],
      rows: report.models.map((model) => [
        model.model,
        model.cleanAccuracy === null ? '–' : percent(model.cleanAccuracy),
        percent(model.meanCorruptionAccuracy),
        ratio(model.mCE),
        ratio(model.relativeMCE),
      ]),
    },
    corruptions: {
      header: [
        'corruption',
        ...models.flatMap((model) => [`${model} accuracy`, `${model} CE`, `${model} rel. CE`]),
      ],
      rows: corruptions.map((corruption) => [
        corruption,
        ...models.flatMap((model) => {
          const score = scoreOf(model, corruption);
          return [percent(score.meanAccuracy), ratio(score.ce), ratio(score.relativeCe)];
        }),
      ]),
    },
    curves: {
      header: ['corruption', 'model', ...severities.map((severity) => `s${severity}`)],
      rows: corruptions.flatMap((corruption) =>
        models.map((model) => {
          const curve = scoreOf(model, corruption).curve;
          return [
            corruption,
            model,
            ...severities.map((severity) => {
              const point = curve.find((entry) => entry.severity === severity);
              return point ? percent(point.accuracy) : '–';
            }),
          ];
        }),
      ),
    },
  };
}

/** What the corruption error is, and over which corruptions mCE averages. */
export function corruptionErrorNote(report: NonNullable<BenchmarkResults['corruptionError']>): string {
  return (
    `Corruption error CE = sum over severities of a model's top-1 error / the same sum for the baseline ` +
    `"${report.baseline}" (Hendrycks & Dietterich 2019); relative CE uses errors above each model's clean error. ` +
    (report.imagenetCBenchmarkSet
      ? 'All 15 ImageNet-C benchmark corruptions at severities 1-5 are present, so mCE and relative mCE are ' +
        "averaged over those 15 as in the paper (other corruptions' CE is shown below but not averaged)."
      : `Not all 15 ImageNet-C benchmark corruptions at severities 1-5 are present: mCE is over ${report.mceCorruptions.join(', ')}.`)
  );
}

/** The corruption section: per-corruption accuracy and CE, mCE, relative mCE, severity curves. */
function corruptionSection(results: BenchmarkResults): string[] {
  const report = results.corruptionError;
  if (!report) return [];
  const tables = corruptionTables(report);
  return [
    '## Corruption robustness',
    '',
    corruptionErrorNote(report),
    '',
    markdownTable(tables.models),
    '',
    ...(report.excluded.length > 0
      ? [
          `Left out of mCE: ${report.excluded.map((entry) => `${entry.corruption} (${entry.reason})`).join('; ')}.`,
          '',
        ]
      : []),
    'Accuracy (mean over severities) and CE per corruption:',
    '',
    markdownTable(tables.corruptions),
    '',
    'Severity curves (accuracy at each severity):',
    '',
    markdownTable(tables.curves),
    '',
  ];
}

export const number = (value: number | null, digits = 4): string =>
  value === null ? '–' : value.toFixed(digits);
export const pValue = (value: number): string => (value < 1e-4 ? value.toExponential(1) : value.toFixed(4));
export const signedPoints = (value: number): string => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(2)}`;
const signedNumber = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(4)}`;

const side = (cell: Comparison['a']): string =>
  `${cell.model} ${cell.condition}${cell.seed === null ? '' : ` (seed ${cell.seed})`}`;

/** Paired comparisons: B - A in points, interval, effect size, raw and adjusted p, power, verdict. */
export function comparisonsTableData(comparisons: readonly Comparison[], level: number): TableData {
  return {
    header: [
      'A',
      'B',
      'difference',
      `${Math.round(level * 100)}% CI`,
      "Cohen's h",
      'p (exact)',
      'p adjusted',
      'power',
      'n for min. effect',
      'verdict',
    ],
    rows: comparisons.map((comparison) => [
      side(comparison.a),
      side(comparison.b),
      signedPoints(comparison.difference.estimate),
      `[${signedPoints(comparison.difference.lower)}, ${signedPoints(comparison.difference.upper)}]`,
      comparison.cohensH.toFixed(3),
      pValue(comparison.mcnemar.exactP),
      pValue(comparison.adjustedP),
      comparison.power === null ? '–' : comparison.power.toFixed(2),
      comparison.samplesForMinimumEffect === null ? '–' : String(comparison.samplesForMinimumEffect.n),
      comparison.verdict,
    ]),
  };
}

/** Paired comparisons as a Markdown table. */
export function comparisonsTable(comparisons: readonly Comparison[], level: number): string {
  return markdownTable(comparisonsTableData(comparisons, level));
}

const seedCell = (seed: number | null): string => (seed === null ? '–' : String(seed));

/** Per cell: accuracy with its interval, calibration, macro F1, worst group, disparity, flip rate. */
export function evaluationCellsTable(evaluation: StoredEvaluation): TableData {
  const level = `${Math.round(evaluation.level * 100)}%`;
  return {
    header: [
      'model',
      'condition',
      'seed',
      'accuracy',
      `${level} CI`,
      'ECE',
      `ECE ${level} CI`,
      'adaptive ECE',
      'MCE',
      'Brier',
      'NLL',
      'macro F1',
      'worst group',
      'disparity',
      'flip rate',
    ],
    rows: evaluation.cells.map((cell) => [
      cell.model,
      cell.condition,
      seedCell(cell.seed),
      percent(cell.accuracy.estimate),
      `[${percent(cell.accuracy.lower)}, ${percent(cell.accuracy.upper)}]`,
      number(cell.calibration.ece),
      cell.calibration.eceInterval
        ? `[${number(cell.calibration.eceInterval.lower)}, ${number(cell.calibration.eceInterval.upper)}]`
        : '–',
      number(cell.calibration.adaptiveEce),
      number(cell.calibration.mce),
      number(cell.calibration.brier),
      number(cell.calibration.nll),
      number(cell.macroF1),
      cell.subgroups.worstGroup === null
        ? '–'
        : `${cell.subgroups.worstGroup} ${percent(cell.subgroups.worstGroupAccuracy ?? 0)}`,
      number(cell.subgroups.disparity),
      cell.versusClean?.flipRate == null ? '–' : percent(cell.versusClean.flipRate),
    ]),
  };
}

/** Mean, SD and t interval of accuracy across seeds. */
export function replicationTable(evaluation: StoredEvaluation): TableData {
  return {
    header: [
      'model',
      'condition',
      'seeds',
      'mean accuracy',
      'SD',
      `${Math.round(evaluation.level * 100)}% t interval`,
    ],
    rows: evaluation.replication.map((row) => [
      row.model,
      row.condition,
      String(row.seeds),
      percent(row.mean),
      row.sd === null ? '–' : (row.sd * 100).toFixed(2),
      row.interval ? `[${percent(row.interval.lower)}, ${percent(row.interval.upper)}]` : '–',
    ]),
  };
}

/** Most-confused class pairs (true -> predicted, count) per cell. */
export function confusedPairsTable(evaluation: StoredEvaluation): TableData {
  return {
    header: ['model', 'condition', 'seed', 'most confused pairs'],
    rows: evaluation.cells.map((cell) => [
      cell.model,
      cell.condition,
      seedCell(cell.seed),
      cell.confusedPairs
        .map((pair) => `${pair.trueClass}->${pair.predictedClass} (${pair.count})`)
        .join(', ') || '–',
    ]),
  };
}

/** Mean accuracy (± SD, replicates) per condition and model. */
export function accuracyByConditionTable(results: BenchmarkResults): TableData {
  const models = results.models.map((model) => model.id);
  const conditions = [
    ...new Set([
      ...results.summary.map((row) => row.condition),
      ...(results.notApplicable ?? []).map((cell) => cell.condition),
    ]),
  ];
  return {
    header: ['condition', ...models],
    rows: conditions.map((condition) => [
      condition,
      ...models.map((model) => {
        const row = results.summary.find((entry) => entry.model === model && entry.condition === condition);
        if (!row) return notApplicableIn(results, model, condition) ? 'n/a' : '–';
        const sd = row.accuracy.sd === null ? '' : ` ± ${(row.accuracy.sd * 100).toFixed(2)}`;
        return `${percent(row.accuracy.mean)}${sd}${row.replicates > 1 ? ` (n=${row.replicates})` : ''}`;
      }),
    ]),
  };
}

/** One row of the cells table; computed and not-applicable cells differ only in the two outcome columns. */
function cellsRow(
  cell: {
    readonly index: number;
    readonly model: string;
    readonly condition: string;
    readonly seed: number | null;
    readonly key: string;
  },
  accuracy: string,
  counts: string,
): { index: number; row: string[] } {
  return {
    index: cell.index,
    row: [
      String(cell.index),
      cell.model,
      cell.condition,
      seedCell(cell.seed),
      accuracy,
      counts,
      `\`${cell.key.slice(0, 16)}\``,
    ],
  };
}

/** Every cell: model, condition, seed, accuracy, counts, key. */
export function cellsTable(results: BenchmarkResults): TableData {
  return {
    header: ['#', 'model', 'condition', 'seed', 'accuracy', 'correct / total', 'cell key'],
    rows: [
      ...results.cells.map((cell) =>
        cellsRow(cell, percent(cell.metrics.accuracy), `${cell.metrics.correct} / ${cell.metrics.total}`),
      ),
      ...(results.notApplicable ?? []).map((cell) => cellsRow(cell, 'n/a', 'not applicable')),
    ]
      .sort((a, b) => a.index - b.index)
      .map((entry) => entry.row),
  };
}

/** Whether (model, condition) is a not-applicable cell of the run. */
function notApplicableIn(results: BenchmarkResults, model: string, condition: string): boolean {
  return (results.notApplicable ?? []).some((cell) => cell.model === model && cell.condition === condition);
}

/**
 * Attacks a model could not undergo (white-box attacks on a model without an input gradient),
 * one row per (model, attack, norm), with the epsilons and the reason.
 */
export function notApplicableTable(results: BenchmarkResults): TableData {
  const groups = new Map<string, NonNullable<BenchmarkResults['notApplicable']>[number][]>();
  for (const cell of results.notApplicable ?? []) {
    const group = `${cell.model}\u0000${attackOf(cell.condition)}`;
    groups.set(group, [...(groups.get(group) ?? []), cell]);
  }
  return {
    header: ['model', 'attack', 'access', 'eps', 'robust accuracy', 'reason'],
    rows: [...groups.values()].map((cells) => [
      cells[0].model,
      attackOf(cells[0].condition),
      cells[0].access,
      [...new Set(cells.map((cell) => cell.epsilon))]
        .sort((a, b) => a - b)
        .map(String)
        .join(', '),
      'n/a',
      cells[0].reason.replace(/\|/g, '\\|'),
    ]),
  };
}

/** The seeded paired bootstrap of each run-vs-run comparison: accuracy and ECE differences (B - A). */
export function bootstrapTable(comparisons: readonly RunComparison[], level: number): string {
  const ci = `${Math.round(level * 100)}% CI`;
  const bounds = (value: BootstrapDifference, format: (x: number) => string): string =>
    `[${format(value.lower)}, ${format(value.upper)}]${value.method === 'BCa' ? '' : ' (percentile)'}`;
  const interval = (value: BootstrapDifference): string => bounds(value, signedPoints);
  const eceInterval = (value: BootstrapDifference): string => bounds(value, signedNumber);
  return table(
    [
      'A',
      'B',
      'accuracy difference',
      `bootstrap ${ci}`,
      'ECE A',
      'ECE B',
      'ECE difference',
      `bootstrap ${ci} `,
    ],
    comparisons.flatMap((comparison) =>
      comparison.bootstrap
        ? [
            [
              side(comparison.a),
              side(comparison.b),
              signedPoints(comparison.bootstrap.accuracy.estimate),
              interval(comparison.bootstrap.accuracy),
              number(comparison.bootstrap.eceA),
              number(comparison.bootstrap.eceB),
              signedNumber(comparison.bootstrap.ece.estimate),
              eceInterval(comparison.bootstrap.ece),
            ],
          ]
        : [],
    ),
  );
}

/** DerSimonian-Laird pooled effects across runs, with the heterogeneity a reader must weigh. */
export function metaTable(effects: readonly PooledEffect[]): string {
  const level = effects[0] ? `${Math.round(effects[0].pooled.level * 100)}% CI` : 'CI';
  return table(
    ['kind', 'A', 'B', 'runs', 'per-run differences', 'pooled difference', level, 'p', 'tau^2', 'I^2', 'Q p'],
    effects.map((effect) => [
      effect.kind,
      effect.a,
      effect.b,
      String(effect.pooled.k),
      effect.runs.map((run) => signedPoints(run.estimate)).join(', '),
      signedPoints(effect.pooled.estimate),
      `[${signedPoints(effect.pooled.lower)}, ${signedPoints(effect.pooled.upper)}]`,
      pValue(effect.pooled.pValue),
      effect.pooled.tau2.toExponential(2),
      `${(effect.pooled.i2 * 100).toFixed(0)}%`,
      pValue(effect.pooled.qPValue),
    ]),
  );
}

/** Intervals, calibration, subgroups, corrected comparisons, replication, failure modes, gallery. */
function evaluationSection(results: BenchmarkResults): string[] {
  const evaluation = results.evaluation;
  if (!evaluation) return [];
  const level = `${Math.round(evaluation.level * 100)}%`;
  const correction = evaluation.correction === 'holm' ? 'Holm' : 'Benjamini-Hochberg';
  const significant = evaluation.comparisons.filter((comparison) => comparison.significant);
  const lines = [
    '## Accuracy with uncertainty, calibration and subgroups',
    '',
    `Accuracy with its ${level} Wilson interval; calibration as expected calibration error (15 equal-width bins), ` +
      'adaptive (equal-mass) ECE, maximum calibration error, Brier score and NLL; subgroups are ' +
      `${evaluation.cells[0]?.subgroups.source === 'label' ? 'the classes' : `\`${evaluation.cells[0]?.subgroups.source}\``}.`,
    '',
    markdownTable(evaluationCellsTable(evaluation)),
    '',
    '## Paired comparisons',
    '',
    `Every perturbed cell against the same model's clean cell, and every pair of models on the same condition ` +
      `and seed, on the same samples: difference in accuracy (B - A, points) with Newcombe's paired ${level} interval, ` +
      `Cohen's h, exact McNemar p-value, ${correction}-adjusted over all ${evaluation.comparisons.length} comparisons ` +
      `(alpha ${evaluation.alpha}), the power of the exact test at the observed effect, and a verdict against the ` +
      `minimum relevant effect of ${(evaluation.minimumEffect * 100).toFixed(1)} points, with the samples needed to ` +
      'detect that effect at 80% power. ' +
      `${significant.length} of ${evaluation.comparisons.length} are significant after correction.`,
    '',
    comparisonsTable(evaluation.comparisons, evaluation.level),
    '',
  ];
  if (evaluation.replication.length > 0) {
    lines.push('## Replication across seeds', '', markdownTable(replicationTable(evaluation)), '');
  }
  lines.push(
    '## Failure modes',
    '',
    'Most-confused class pairs (true -> predicted, count) per cell:',
    '',
    markdownTable(confusedPairsTable(evaluation)),
    '',
  );
  if (evaluation.galleries.length > 0) {
    lines.push(
      `Flipped examples (clean left, perturbed right; ${evaluation.galleries[0].selection}):`,
      '',
      ...evaluation.galleries.flatMap((gallery) => [
        `**${gallery.model}, ${gallery.condition}${gallery.seed === null ? '' : `, seed ${gallery.seed}`}**: ` +
          gallery.examples
            .map(
              (example) =>
                `![sample ${example.index}: label ${example.label}, clean ${example.cleanPrediction}, perturbed ${example.perturbedPrediction}](gallery/${example.png}.png)`,
            )
            .join(' '),
        '',
      ]),
    );
  }
  return lines;
}

function driftSection(results: BenchmarkResults): string[] {
  if (!results.drift) return [];
  const { alerts } = results.drift;
  return [
    '## Baseline stability (drift)',
    '',
    alerts.length === 0
      ? `Every cell matches the baseline run (results \`${results.drift.baseline.slice(0, 16)}\`) within its interval.`
      : `**${alerts.length} alert(s)** against the baseline run (results \`${results.drift.baseline.slice(0, 16)}\`):`,
    '',
    ...alerts.map((alert) => `- ${alert.message}`),
    '',
  ];
}

/** report.md: the results a person reads first, then where they came from. */
/** Robust accuracy per model, attack and epsilon, with what the attacks cost; gradient-masking warnings. */
export function attackTable(results: BenchmarkResults): TableData {
  const level = `${Math.round((results.evaluation?.level ?? 0.95) * 100)}% CI`;
  return {
    header: [
      'model',
      'attack',
      'access',
      'eps',
      'seeds',
      'robust accuracy',
      level,
      'success rate',
      'queries mean / median / max',
      'mean Linf / L2',
      'zero gradients',
    ],
    rows: (results.attacks?.curves ?? []).flatMap((curve) =>
      curve.points.map((point) => [
        curve.model,
        curve.attack,
        curve.access,
        String(point.epsilon),
        String(point.seeds),
        percent(point.robustAccuracy),
        `[${percent(point.lower)}, ${percent(point.upper)}]`,
        percent(point.successRate),
        `${point.queries.mean.toFixed(1)} / ${point.queries.median} / ${point.queries.max}`,
        `${point.meanLinf.toFixed(3)} / ${point.meanL2.toFixed(3)}`,
        point.zeroGradientFraction === null ? '–' : percent(point.zeroGradientFraction),
      ]),
    ),
  };
}

/** The not-applicable attacks, as report.md and report.html both explain them. */
export const NOT_APPLICABLE_NOTE =
  'Not applicable (n/a): these attacks need something the model does not offer (white-box attacks need ' +
  'input gradients through its graph). They were not run and are in no statistic, comparison or curve; ' +
  'black-box attacks (square, simba, hop-skip-jump) still measure the model.';

function notApplicableSection(results: BenchmarkResults): string[] {
  if (!results.notApplicable) return [];
  return [NOT_APPLICABLE_NOTE, '', markdownTable(notApplicableTable(results)), ''];
}

function attackSection(results: BenchmarkResults): string[] {
  if (!results.attacks) {
    if (!results.notApplicable) return [];
    return ['## Adversarial robustness', '', ...notApplicableSection(results)];
  }
  const { warnings } = results.attacks;
  return [
    '## Adversarial robustness',
    '',
    'Robust accuracy: samples still classified correctly under the attack (worst case over its seeds), ' +
      'with the Wilson interval; success rate over clean-correct samples; queries per sample; size of the successful perturbations.',
    '',
    markdownTable(attackTable(results)),
    '',
    ...notApplicableSection(results),
    ...(warnings.length === 0
      ? [
          'No sign of gradient masking (monotone curves, white-box at least as strong as black-box, informative gradients).',
          '',
        ]
      : [
          '**Gradient-masking warnings:**',
          '',
          ...warnings.map((warning) => `- ${warning.model}: ${warning.code}: ${warning.message}`),
          '',
        ]),
  ];
}

export function renderMarkdownReport(results: BenchmarkResults, provenance: ProvenanceRecord): string {
  const { run, environment, counts } = provenance;
  return [
    `# Tempest report: ${results.benchmark.name}`,
    '',
    `Spec sha256 \`${results.benchmark.specHash}\`, dataset \`${results.dataset.hash.slice(0, 16)}\` ` +
      `(${results.dataset.samples} samples), runtime ${results.runtime}.`,
    '',
    '## Accuracy by condition',
    '',
    'Mean top-1 accuracy over replicate seeds (± sample SD where there are several).',
    '',
    markdownTable(accuracyByConditionTable(results)),
    '',
    ...corruptionSection(results),
    ...attackSection(results),
    ...driftSection(results),
    ...evaluationSection(results),
    '## Cells',
    '',
    markdownTable(cellsTable(results)),
    '',
    '## Provenance',
    '',
    table(
      ['field', 'value'],
      [
        ['executor', run.executor],
        ['workflow id', `\`${run.workflowId}\``],
        ['run id', `\`${run.runId}\``],
        ['started / finished', `${run.startedAt} / ${run.finishedAt}`],
        ['cells computed / reused / retried', `${counts.computed} / ${counts.reused} / ${counts.retried}`],
        ...provenance.models.map((model) => [`model ${model.id}`, `${model.path} \`${model.sha256}\``]),
        ['modules', provenance.modules.join(', ') || '–'],
        ['seeds', provenance.seeds.join(', ')],
        ['node / platform', `${environment.node} / ${environment.platform}-${environment.arch}`],
        ['cpu', `${environment.cpuModel} x${environment.cpuCount}`],
        ['onnxruntime-node', environment.packages['onnxruntime-node'] ?? '?'],
        ['temporal worker sdk', environment.packages['@temporalio/worker'] ?? '?'],
      ],
    ),
    '',
  ].join('\n');
}
