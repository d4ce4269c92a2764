/**
 * report.html: the run's report as one self-contained page. It draws the same content as
 * report.md (the same numbers, formatted by the same helpers) plus charts as inline SVG made
 * here, the failure gallery as data: URIs, the provenance summary and the lineage graph. The page
 * makes no network request (no external font, script, style or image; no script at all) and is
 * deterministic: the same results, provenance and images give the same bytes (the only times in
 * it are provenance's).
 */
import {
  arrivalsText,
  bestText,
  consistencyTableData,
  latencyTableData,
  measuredText,
  serviceTimesText,
} from '../serving/report';
import { latencySettingsOf, type ServingReport } from '../serving/run';
import type { ProvenanceRecord } from '../provenance/record';
import type { CellEvaluation } from '../evaluation';
import type { BenchmarkResults, StoredEvaluation } from '../results';
import { wilsonInterval } from '../stats';
import {
  accuracyByConditionTable,
  cellsTable,
  comparisonsTableData,
  confusedPairsTable,
  corruptionErrorNote,
  corruptionTables,
  evaluationCellsTable,
  number,
  percent,
  replicationTable,
  signedPoints,
  type TableData,
  NOT_APPLICABLE_NOTE,
  notApplicableTable,
} from './markdown';
import { groupedBarChart, type BarSeries } from './svg/bars';
import { bandLineChart, type BandSeries } from './svg/band-lines';
import { heatmap } from './svg/heatmap';
import { lineageGraph, type LineageEdge, type LineageNode } from './svg/lineage';
import { escapeXml, slug } from './svg/markup';
import { accuracyAxisFloor } from './svg/scale';
import { reliabilityDiagram } from './svg/reliability';

/**
 * Robust accuracy of one model under one attack at increasing perturbation budgets, with the
 * interval of each point: what the "robust accuracy vs epsilon" panel draws. Attacks do not yet
 * write results; when they do, the pipeline passes their curves here.
 */
export interface AttackCurve {
  readonly model: string;
  /** The attack as named in the spec (e.g. "pgd-linf"). */
  readonly attack: string;
  readonly points: readonly {
    readonly epsilon: number;
    readonly robustAccuracy: number;
    readonly lower: number;
    readonly upper: number;
  }[];
}

export interface HtmlReportInput {
  readonly results: BenchmarkResults;
  readonly provenance: ProvenanceRecord;
  /** PNG bytes by sha256 for the gallery images `galleryImagesShown` names; a missing one is listed, not drawn. */
  readonly images: ReadonlyMap<string, Uint8Array>;
  readonly attacks?: readonly AttackCurve[];
  /** The spec's `serving:` figures (measured after the run), when it has that section. */
  readonly serving?: ServingReport;
}

/** At most this many flipped examples per shown gallery; report.md and gallery/ have them all. */
const EXAMPLES_PER_GALLERY = 6;

// ---------------------------------------------------------------------------------------------
// HTML building blocks

type Cell = string | { readonly html: string };

const escapeCell = (cell: Cell): string => (typeof cell === 'string' ? escapeXml(cell) : cell.html);
const code = (value: string): Cell => ({ html: `<code>${escapeXml(value)}</code>` });

/**
 * A table with a caption and column headers; the first column heads its row. Cells keep numbers
 * and intervals on one line (the table scrolls sideways) unless `wrap` lets long text wrap.
 */
function htmlTable(
  caption: string,
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  wrap = false,
): string {
  const head = `<thead><tr>${header.map((name) => `<th scope="col">${escapeXml(name)}</th>`).join('')}</tr></thead>`;
  const body = rows
    .map(
      (row) =>
        `<tr>${row
          .map((cell, index) =>
            index === 0 ? `<th scope="row">${escapeCell(cell)}</th>` : `<td>${escapeCell(cell)}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('\n');
  return `<div class="table-wrap"><table${wrap ? ' class="wrap"' : ''}><caption>${escapeXml(caption)}</caption>\n${head}\n<tbody>\n${body}\n</tbody></table></div>`;
}

/** A cell of report.md's tables in HTML: escaped, its `code` spans as <code> and **bold** as <strong>. */
const fromMarkdown = (cell: string): Cell => ({
  html: escapeXml(cell)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>'),
});

/** One of the tables report.md also draws, from the same TableData. */
const dataTable = (caption: string, data: TableData, wrap = false): string =>
  htmlTable(
    caption,
    data.header,
    data.rows.map((row) => row.map(fromMarkdown)),
    wrap,
  );

const paragraph = (content: string) => `<p>${escapeXml(content)}</p>`;

interface Section {
  readonly id: string;
  readonly title: string;
  readonly body: readonly string[];
}

const figureGrid = (charts: readonly string[]) =>
  `<div class="figures">${charts.map((chart) => `<figure>${chart}</figure>`).join('\n')}</div>`;

const seedText = (seed: number | null) => (seed === null ? '–' : String(seed));
const tickPercent = (value: number) => `${Math.round(value * 100)}%`;

// ---------------------------------------------------------------------------------------------
// Data shaping

/** (model, condition) -> corruption and severity, as results' summary records them. */
function conditionIndex(results: BenchmarkResults) {
  return new Map(results.summary.map((row) => [`${row.model}\u0000${row.condition}`, row]));
}

/**
 * Accuracy vs severity per corruption, one series per model, clean as severity 0. Points are the
 * mean over seeds; the band spans the seeds' Wilson intervals (the summary's range over seeds when
 * the run has no evaluation).
 */
export function severitySeries(results: BenchmarkResults): { corruption: string; series: BandSeries[] }[] {
  const corruptions = [
    ...new Set(results.summary.flatMap((row) => (row.corruption === null ? [] : [row.corruption]))),
  ];
  const cells = results.evaluation?.cells ?? [];
  const pointOf = (model: string, condition: string, mean: number, min: number, max: number) => {
    const intervals = cells.filter((cell) => cell.model === model && cell.condition === condition);
    if (intervals.length === 0) return { y: mean, lower: min, upper: max };
    return {
      y: intervals.reduce((sum, cell) => sum + cell.accuracy.estimate, 0) / intervals.length,
      lower: Math.min(...intervals.map((cell) => cell.accuracy.lower)),
      upper: Math.max(...intervals.map((cell) => cell.accuracy.upper)),
    };
  };
  return corruptions.map((corruption) => ({
    corruption,
    series: results.models.map((model) => ({
      name: model.id,
      points: results.summary
        .filter(
          (row) =>
            row.model === model.id &&
            ((row.corruption === corruption && row.severity !== null) ||
              (row.corruption === null && row.condition === 'clean')),
        )
        .map((row) => ({
          x: row.severity ?? 0,
          ...pointOf(row.model, row.condition, row.accuracy.mean, row.accuracy.min, row.accuracy.max),
        })),
    })),
  }));
}

/** Mean accuracy over severities (and seeds) per model and corruption: the heatmap's cells. */
function corruptionAccuracy(results: BenchmarkResults, corruptions: readonly string[]) {
  return results.models.map((model) =>
    corruptions.map((corruption) => {
      const rows = results.summary.filter((row) => row.model === model.id && row.corruption === corruption);
      return rows.length === 0 ? null : rows.reduce((sum, row) => sum + row.accuracy.mean, 0) / rows.length;
    }),
  );
}

/** The model's clean cell and its lowest-accuracy perturbed cell, each at its lowest seed. */
function cleanAndWorst(
  evaluation: StoredEvaluation,
  model: string,
): { clean: CellEvaluation | undefined; worst: CellEvaluation | undefined } {
  const cells = evaluation.cells.filter((cell) => cell.model === model);
  const bySeed = (a: CellEvaluation, b: CellEvaluation) => (a.seed ?? -1) - (b.seed ?? -1);
  const clean = cells.filter((cell) => cell.condition === 'clean').sort(bySeed)[0];
  const perturbed = cells.filter((cell) => cell.condition !== 'clean');
  const worstCondition = [...new Set(perturbed.map((cell) => cell.condition))]
    .map((condition) => {
      const runs = perturbed.filter((cell) => cell.condition === condition);
      return {
        condition,
        accuracy: runs.reduce((sum, cell) => sum + cell.accuracy.estimate, 0) / runs.length,
      };
    })
    .sort((a, b) => a.accuracy - b.accuracy || (a.condition < b.condition ? -1 : 1))[0];
  const worst = worstCondition
    ? perturbed.filter((cell) => cell.condition === worstCondition.condition).sort(bySeed)[0]
    : undefined;
  return { clean, worst };
}

const cellName = (cell: CellEvaluation) =>
  `${cell.condition}${cell.seed === null ? '' : ` (seed ${cell.seed})`}`;

/**
 * The galleries the page shows: per model and corruption the most severe condition's gallery at
 * its lowest seed (the most telling flips), so a sweep of hundreds of cells stays a page of images.
 */
export function shownGalleries(results: BenchmarkResults): StoredEvaluation['galleries'] {
  const galleries = results.evaluation?.galleries ?? [];
  const conditions = conditionIndex(results);
  const chosen = new Map<string, StoredEvaluation['galleries'][number]>();
  for (const gallery of galleries) {
    const row = conditions.get(`${gallery.model}\u0000${gallery.condition}`);
    const key = `${gallery.model}\u0000${row?.corruption ?? gallery.condition}`;
    const current = chosen.get(key);
    const severity = (entry: StoredEvaluation['galleries'][number]) =>
      conditions.get(`${entry.model}\u0000${entry.condition}`)?.severity ?? 0;
    if (
      !current ||
      severity(gallery) > severity(current) ||
      (severity(gallery) === severity(current) && (gallery.seed ?? -1) < (current.seed ?? -1))
    ) {
      chosen.set(key, gallery);
    }
  }
  return [...chosen.values()].map((gallery) => ({
    ...gallery,
    examples: gallery.examples.slice(0, EXAMPLES_PER_GALLERY),
  }));
}

/** The sha256 of every gallery image report.html embeds. */
export function galleryImagesShown(results: BenchmarkResults): string[] {
  return [
    ...new Set(shownGalleries(results).flatMap((gallery) => gallery.examples.map((example) => example.png))),
  ];
}

/** A PNG's pixel size from its IHDR chunk, so the page reserves the space before decoding. */
function pngSize(png: Uint8Array): { width: number; height: number } | null {
  if (png.length < 24) return null;
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

// ---------------------------------------------------------------------------------------------
// Sections

function summarySection(results: BenchmarkResults): Section {
  return {
    id: 'summary',
    title: 'Accuracy by condition',
    body: [
      paragraph('Mean top-1 accuracy over replicate seeds (± sample SD where there are several).'),
      dataTable('Mean top-1 accuracy by condition and model', accuracyByConditionTable(results)),
    ],
  };
}

/** The same tables as report.md's Serving section; the measured half is labelled as measured. */
function servingSection(serving: ServingReport | undefined): Section | null {
  if (!serving) return null;
  const markdownParagraph = (text: string) => `<p>${escapeCell(fromMarkdown(text))}</p>`;
  const settings = latencySettingsOf(serving.settings);
  return {
    id: 'serving',
    title: 'Serving',
    body: [
      markdownParagraph(`Batching: ${serving.consistency.note}.`),
      dataTable('Predictions under the serving batch sizes', consistencyTableData(serving.consistency.rows)),
      markdownParagraph(`${measuredText(serving)} ${arrivalsText(settings)}`),
      ...serving.latency.models.flatMap((model) => [
        markdownParagraph(
          `${model.model}: ${serviceTimesText(model, serving.latency.threads)}. ${bestText(model)}.`,
        ),
        dataTable(`Simulated latency of ${model.model}`, latencyTableData(model, settings)),
        ...(model.verdict && !model.verdict.passed
          ? [markdownParagraph(`Latency budget FAILED for ${model.model}: ${model.verdict.failure}.`)]
          : []),
      ]),
    ],
  };
}

function corruptionSection(results: BenchmarkResults): Section | null {
  const curves = severitySeries(results);
  if (curves.length === 0) return null;
  const level = results.evaluation ? `${Math.round(results.evaluation.level * 100)}%` : null;
  const corruptions = curves.map((curve) => curve.corruption);
  const models = results.models.map((model) => model.id);
  // One y axis for all panels, so that their heights compare.
  const yFloor = accuracyAxisFloor(
    curves.flatMap((curve) => curve.series.flatMap((entry) => entry.points.map((point) => point.lower))),
  );
  // Ids carry the index: two names may slug alike ("a.b", "a-b") and ids must be unique on the page.
  const charts = curves.map(({ corruption, series }, index) =>
    bandLineChart({
      id: `severity-${index}-${slug(corruption)}`,
      title: `Accuracy vs severity: ${corruption}`,
      description:
        `Top-1 accuracy of ${series.map((entry) => entry.name).join(', ')} under ${corruption} at each severity ` +
        `(0 = clean), mean over seeds, with ${level ? `the ${level} Wilson interval of each seed's cell as band` : 'the range over seeds as band'}.`,
      series,
      yFloor,
      xLabel: 'severity (0 = clean)',
      yLabel: 'top-1 accuracy',
      formatX: (x) => (x === 0 ? 'clean' : `s${x}`),
      formatY: percent,
      formatYTick: tickPercent,
      ticksAtData: true,
    }),
  );
  const heatmaps = [
    heatmap({
      id: 'heatmap-accuracy',
      title: 'Accuracy per corruption (mean over severities)',
      description: `Mean top-1 accuracy over severities and seeds for each model (rows) and corruption (columns).`,
      rows: models,
      columns: corruptions,
      values: corruptionAccuracy(results, corruptions),
      format: (value) => `${(value * 100).toFixed(1)}%`,
      legendLabel: 'accuracy (darker is better)',
      higherIsBetter: true,
    }),
  ];
  const report = results.corruptionError;
  if (report) {
    heatmaps.push(
      heatmap({
        id: 'heatmap-ce',
        title: `Corruption error (CE, baseline ${report.baseline})`,
        description: `Corruption error of each model (rows) per corruption (columns) relative to the baseline model ${report.baseline}; below 1 is better than the baseline.`,
        rows: report.models.map((model) => model.model),
        columns: corruptions,
        values: report.models.map((model) =>
          corruptions.map(
            (corruption) => model.corruptions.find((score) => score.corruption === corruption)?.ce ?? null,
          ),
        ),
        format: (value) => value.toFixed(3),
        legendLabel: 'CE (darker is better)',
        higherIsBetter: false,
      }),
    );
  }
  const body = [
    paragraph(
      'Accuracy against corruption severity, one panel per corruption, one line per model' +
        (level ? `, with ${level} Wilson intervals as bands` : '') +
        '; hover a point for its value.',
    ),
    figureGrid([...charts, ...heatmaps]),
  ];
  if (report) {
    const tables = corruptionTables(report);
    body.push(
      paragraph(corruptionErrorNote(report)),
      dataTable('Clean accuracy, mean corruption accuracy, mCE and relative mCE per model', tables.models),
    );
    if (report.excluded.length > 0) {
      body.push(
        paragraph(
          `Left out of mCE: ${report.excluded.map((entry) => `${entry.corruption} (${entry.reason})`).join('; ')}.`,
        ),
      );
    }
    body.push(
      dataTable('Accuracy (mean over severities) and CE per corruption', tables.corruptions),
      dataTable('Severity curves (accuracy at each severity)', tables.curves),
    );
  }
  return { id: 'corruptions', title: 'Corruption robustness', body };
}

/** The attacks the run could not apply to a model, with the reason (absent when there are none). */
function notApplicableBody(results: BenchmarkResults): string[] {
  if (!results.notApplicable) return [];
  return [
    paragraph(NOT_APPLICABLE_NOTE),
    dataTable('Attacks not applicable to a model (n/a), with the reason', notApplicableTable(results), true),
  ];
}

function attackSection(
  attacks: readonly AttackCurve[] | undefined,
  results: BenchmarkResults,
): Section | null {
  if (!attacks || attacks.length === 0) {
    if (!results.notApplicable) return null;
    return { id: 'attacks', title: 'Adversarial robustness', body: notApplicableBody(results) };
  }
  const names = [...new Set(attacks.map((curve) => curve.attack))];
  const epsilon = (value: number) => String(Number(value.toPrecision(3)));
  return {
    id: 'attacks',
    title: 'Adversarial robustness',
    body: [
      paragraph(
        'Robust accuracy against the perturbation budget epsilon, one panel per attack, one line per model, with intervals as bands.',
      ),
      figureGrid(
        names.map((attack, index) =>
          bandLineChart({
            id: `attack-${index}-${slug(attack)}`,
            title: `Robust accuracy vs epsilon: ${attack}`,
            description: `Robust accuracy of each model under ${attack} at each epsilon, with its interval as band.`,
            series: attacks
              .filter((curve) => curve.attack === attack)
              .map((curve) => ({
                name: curve.model,
                points: curve.points.map((point) => ({
                  x: point.epsilon,
                  y: point.robustAccuracy,
                  lower: point.lower,
                  upper: point.upper,
                })),
              })),
            xLabel: 'epsilon',
            yLabel: 'robust accuracy',
            formatX: epsilon,
            formatY: percent,
            formatYTick: tickPercent,
            ticksAtData: true,
          }),
        ),
      ),
      ...notApplicableBody(results),
    ],
  };
}

function driftSection(results: BenchmarkResults): Section | null {
  if (!results.drift) return null;
  const { alerts, baseline } = results.drift;
  return {
    id: 'drift',
    title: 'Baseline stability (drift)',
    body: [
      alerts.length === 0
        ? `<p>Every cell matches the baseline run (results <code>${escapeXml(baseline.slice(0, 16))}</code>) within its interval.</p>`
        : `<p class="alert"><strong>${alerts.length} alert(s)</strong> against the baseline run (results <code>${escapeXml(baseline.slice(0, 16))}</code>):</p>`,
      ...(alerts.length === 0
        ? []
        : [
            htmlTable(
              'Drift alerts',
              ['model', 'condition', 'seed', 'baseline', 'interval', 'current', 'shift', 'message'],
              alerts.map((alert) => [
                alert.model,
                alert.condition,
                seedText(alert.seed),
                percent(alert.baseline.value),
                `[${percent(alert.baseline.lower)}, ${percent(alert.baseline.upper)}]`,
                percent(alert.current),
                signedPoints(alert.shift),
                alert.message,
              ]),
              true,
            ),
          ]),
    ],
  };
}

function calibrationSection(results: BenchmarkResults, evaluation: StoredEvaluation): Section {
  const level = `${Math.round(evaluation.level * 100)}%`;
  const charts = results.models.flatMap((model, index) => {
    const { clean, worst } = cleanAndWorst(evaluation, model.id);
    const cells = [clean, worst].filter((cell): cell is CellEvaluation => cell !== undefined);
    if (cells.length === 0) return [];
    return [
      reliabilityDiagram({
        id: `reliability-${index}-${slug(model.id)}`,
        title: `Reliability: ${model.id}`,
        description:
          `Reliability diagram of ${model.id}: accuracy against mean confidence per equal-width confidence bin for ` +
          `${cells.map(cellName).join(' and ')}${worst ? ' (its lowest-accuracy perturbed condition)' : ''}; ` +
          'the dashed diagonal is perfect calibration, marker area follows the bin size.',
        series: cells.map((cell) => ({
          name: `${cellName(cell)}, ECE ${number(cell.calibration.ece)}`,
          bins: cell.calibration.reliability,
        })),
        formatValue: (value) => value.toFixed(3),
      }),
    ];
  });
  return {
    id: 'calibration',
    title: 'Accuracy with uncertainty and calibration',
    body: [
      paragraph(
        `Accuracy with its ${level} Wilson interval; calibration as expected calibration error (15 equal-width bins), ` +
          'adaptive (equal-mass) ECE, maximum calibration error, Brier score and NLL. Reliability diagrams per ' +
          'model: clean and its lowest-accuracy perturbed condition.',
      ),
      figureGrid(charts),
      dataTable('Accuracy, calibration and subgroup summary per cell', evaluationCellsTable(evaluation)),
    ],
  };
}

/** Per-group accuracy of a cell with Wilson intervals at the run's level; null for empty groups. */
function groupBars(cell: CellEvaluation, names: readonly string[], level: number): BarSeries {
  const values = names.map((name) => {
    const group = cell.subgroups.groups.find((entry) => entry.name === name);
    if (!group || group.accuracy === null || group.count === 0) return null;
    const interval = wilsonInterval(Math.round(group.accuracy * group.count), group.count, level);
    return { estimate: group.accuracy, lower: interval.lower, upper: interval.upper };
  });
  const worst = cell.subgroups.worstGroup === null ? -1 : names.indexOf(cell.subgroups.worstGroup);
  return { name: cellName(cell), values, highlight: worst < 0 ? null : worst };
}

function subgroupSection(results: BenchmarkResults, evaluation: StoredEvaluation): Section | null {
  const source = evaluation.cells[0]?.subgroups.source;
  if (source === undefined) return null;
  const level = `${Math.round(evaluation.level * 100)}%`;
  const charts = results.models.flatMap((model, index) => {
    const { clean, worst } = cleanAndWorst(evaluation, model.id);
    const cells = [clean, worst].filter((cell): cell is CellEvaluation => cell !== undefined);
    const names = [...new Set(cells.flatMap((cell) => cell.subgroups.groups.map((group) => group.name)))];
    if (names.length < 2) return [];
    return [
      groupedBarChart({
        id: `subgroups-${index}-${slug(model.id)}`,
        title: `Accuracy per ${source === 'label' ? 'class' : source}: ${model.id}`,
        description:
          `Top-1 accuracy of ${model.id} per group of ${source === 'label' ? 'the true class' : source} for ` +
          `${cells.map(cellName).join(' and ')}, with ${level} Wilson intervals; each condition's worst group is outlined and labelled.`,
        categories: names,
        series: cells.map((cell) => groupBars(cell, names, evaluation.level)),
        xLabel: source === 'label' ? 'class' : source,
        yLabel: 'top-1 accuracy',
        formatValue: percent,
        formatTick: tickPercent,
      }),
    ];
  });
  if (charts.length === 0) return null;
  return {
    id: 'subgroups',
    title: 'Subgroups',
    body: [
      paragraph(
        `Accuracy per subgroup (${source === 'label' ? 'the classes' : source}) with ${level} Wilson intervals, ` +
          "for each model's clean condition and its lowest-accuracy perturbed condition; the worst group is highlighted.",
      ),
      figureGrid(charts),
    ],
  };
}

const ADJUSTED_P_COLUMN = 6;

function comparisonSection(evaluation: StoredEvaluation): Section {
  const comparisons = comparisonsTableData(evaluation.comparisons, evaluation.level);
  const level = `${Math.round(evaluation.level * 100)}%`;
  const correction = evaluation.correction === 'holm' ? 'Holm' : 'Benjamini-Hochberg';
  const significant = evaluation.comparisons.filter((comparison) => comparison.significant).length;
  const body = [
    paragraph(
      `Every perturbed cell against the same model's clean cell, and every pair of models on the same condition ` +
        `and seed, on the same samples: difference in accuracy (B - A, points) with Newcombe's paired ${level} interval, ` +
        `Cohen's h, exact McNemar p-value, ${correction}-adjusted over all ${evaluation.comparisons.length} comparisons ` +
        `(alpha ${evaluation.alpha}), the power of the exact test at the observed effect, and a verdict against the ` +
        `minimum relevant effect of ${(evaluation.minimumEffect * 100).toFixed(1)} points. ` +
        `${significant} of ${evaluation.comparisons.length} are significant after correction.`,
    ),
    dataTable(`Paired comparisons with ${correction}-corrected p-values`, {
      ...comparisons,
      // Significant after correction: the adjusted p in bold.
      rows: comparisons.rows.map((row, index) =>
        evaluation.comparisons[index].significant
          ? row.map((cell, column) => (column === ADJUSTED_P_COLUMN ? `**${cell}**` : cell))
          : row,
      ),
    }),
  ];
  if (evaluation.replication.length > 0) {
    body.push(dataTable('Replication across seeds', replicationTable(evaluation)));
  }
  return { id: 'comparisons', title: 'Paired comparisons', body };
}

function failureSection(
  results: BenchmarkResults,
  evaluation: StoredEvaluation,
  images: ReadonlyMap<string, Uint8Array>,
): Section {
  const body = [
    dataTable(
      'Most-confused class pairs (true -> predicted, count) per cell',
      confusedPairsTable(evaluation),
      true,
    ),
  ];
  const galleries = shownGalleries(results);
  if (galleries.length > 0) {
    const total = evaluation.galleries.reduce((sum, gallery) => sum + gallery.examples.length, 0);
    const shown = galleries.reduce((sum, gallery) => sum + gallery.examples.length, 0);
    body.push(
      paragraph(
        `Flipped examples: clean input left, perturbed right (${evaluation.galleries[0].selection}). Shown: per model ` +
          `and corruption the most severe condition at its lowest seed, up to ${EXAMPLES_PER_GALLERY} each ` +
          `(${shown} of ${total}; all are in gallery/ and report.md).`,
      ),
      ...galleries.map((gallery) => {
        const heading = `${gallery.model}, ${gallery.condition}${gallery.seed === null ? '' : `, seed ${gallery.seed}`}`;
        const examples = gallery.examples.map((example) => {
          const caption = `sample ${example.index}: label ${example.label}, clean ${example.cleanPrediction}, perturbed ${example.perturbedPrediction}`;
          const png = images.get(example.png);
          const size = png ? pngSize(png) : null;
          const image = png
            ? `<img src="data:image/png;base64,${Buffer.from(png).toString('base64')}" alt="${escapeXml(caption)}"${size ? ` width="${size.width}" height="${size.height}"` : ''}>`
            : `<span class="missing">image ${escapeXml(example.png.slice(0, 12))} not available</span>`;
          return (
            `<figure class="example">${image}<figcaption>#${example.index} · label <b>${example.label}</b> · ` +
            `predicted ${example.cleanPrediction} → <b class="flip">${example.perturbedPrediction}</b><br>` +
            `<span class="confidence">conf. ${example.cleanConfidence.toFixed(2)} → ${example.perturbedConfidence.toFixed(2)}</span></figcaption></figure>`
          );
        });
        return `<div class="gallery"><h3>${escapeXml(heading)}</h3><div class="examples">${examples.join('')}</div></div>`;
      }),
    );
  }
  return { id: 'failures', title: 'Failure modes', body };
}

function cellsSection(results: BenchmarkResults): Section {
  return {
    id: 'cells',
    title: 'Cells',
    body: [dataTable('Every cell of the run', cellsTable(results))],
  };
}

const MAX_PERTURBATION_NODES = 6;
const short = (sha256: string) => sha256.slice(0, 12);

/** The lineage graph's nodes and edges: data -> perturbation -> model -> evaluation -> statistics. */
export function lineageOf(
  results: BenchmarkResults,
  provenance: ProvenanceRecord,
  attacks: readonly AttackCurve[] = [],
): { layers: string[]; nodes: LineageNode[]; edges: LineageEdge[] } {
  const lineage = (results.dataset.lineage ?? {}) as { source?: unknown; description?: unknown };
  const data: LineageNode = {
    id: 'data',
    layer: 0,
    label: `dataset (${typeof lineage.source === 'string' ? lineage.source : 'data'})`,
    details: [
      `${results.dataset.samples} samples`,
      `hash ${short(results.dataset.hash)}`,
      `labels ${short(results.dataset.labels)}`,
    ],
  };
  const transforms = [
    ...(results.summary.some((row) => row.condition === 'clean') ? ['clean'] : []),
    ...results.modules,
    ...new Set(attacks.map((curve) => curve.attack)),
  ];
  const perturbations: LineageNode[] =
    transforms.length <= MAX_PERTURBATION_NODES
      ? transforms.map((name, index) => ({
          id: `transform-${index}`,
          layer: 1,
          label: name,
          details: name === 'clean' ? ['unperturbed inputs'] : [`seeds ${results.seeds.join(', ')}`],
        }))
      : [
          {
            id: 'transform-0',
            layer: 1,
            label: `${transforms.length} transforms`,
            details: [
              ...transforms.slice(0, 3),
              `… ${transforms.length - 3} more`,
              `seeds ${results.seeds.join(', ')}`,
            ],
          },
        ];
  const models: LineageNode[] = provenance.models.map((model, index) => ({
    id: `model-${index}`,
    layer: 2,
    label: `model ${model.id}`,
    details: [`sha256 ${short(model.sha256)}`, `${model.size} bytes`],
  }));
  const evaluation: LineageNode = {
    id: 'evaluation',
    layer: 3,
    label: `evaluation (${results.cells.length} cells)`,
    details: [results.runtime, `results ${short(provenance.artifacts.results.sha256)}`],
  };
  const statistics: LineageNode = {
    id: 'statistics',
    layer: 4,
    label: 'statistics',
    details: results.evaluation
      ? [
          `${Math.round(results.evaluation.level * 100)}% Wilson intervals`,
          `${results.evaluation.comparisons.length} comparisons, ${results.evaluation.correction === 'holm' ? 'Holm' : 'BH'}`,
          ...(results.corruptionError ? [`mCE vs ${results.corruptionError.baseline}`] : []),
        ]
      : ['summary over seeds'],
  };
  return {
    layers: ['data', 'perturbation', 'model', 'evaluation', 'statistics'],
    nodes: [data, ...perturbations, ...models, evaluation, statistics],
    edges: [
      ...perturbations.map((node) => ({ from: data.id, to: node.id })),
      ...perturbations.flatMap((perturbation) =>
        models.map((model) => ({ from: perturbation.id, to: model.id })),
      ),
      ...models.map((model) => ({ from: model.id, to: evaluation.id })),
      { from: evaluation.id, to: statistics.id },
    ],
  };
}

function provenanceSection(
  results: BenchmarkResults,
  provenance: ProvenanceRecord,
  attacks: readonly AttackCurve[] | undefined,
): Section {
  const { run, environment, counts, runtime } = provenance;
  const graph = lineageOf(results, provenance, attacks);
  const packages = Object.entries(environment.packages)
    .map(([name, version]) => `${name}@${version}`)
    .join(', ');
  return {
    id: 'provenance',
    title: 'Provenance',
    body: [
      figureGrid([
        lineageGraph({
          id: 'lineage',
          title: 'Lineage',
          description:
            'How the numbers were made: the dataset feeds each transform (clean or perturbation module), whose ' +
            'inputs each model scores; the cells are evaluated and summarised by the statistics.',
          ...graph,
        }),
      ]),
      htmlTable(
        'Provenance summary',
        ['field', 'value'],
        [
          [
            'spec',
            {
              html: `${escapeXml(provenance.spec.source)} <code>${escapeXml(provenance.spec.sha256)}</code>`,
            },
          ],
          ['executor', run.executor],
          ['workflow id', code(run.workflowId)],
          ['run id', code(run.runId)],
          ['namespace / task queue', `${run.namespace} / ${run.taskQueue}`],
          ['started / finished', `${run.startedAt} / ${run.finishedAt}`],
          ['cells computed / reused / retried', `${counts.computed} / ${counts.reused} / ${counts.retried}`],
          ...provenance.models.map((model): Cell[] => [
            `model ${model.id}`,
            {
              html: `${escapeXml(model.path)} <code>${escapeXml(model.sha256)}</code> (${model.size} bytes)`,
            },
          ]),
          [
            'dataset',
            {
              html: `${results.dataset.samples} samples, hash <code>${escapeXml(provenance.dataset.hash)}</code>`,
            },
          ],
          [
            'dataset inputs / labels',
            {
              html: `<code>${escapeXml(provenance.dataset.inputs.sha256)}</code> / <code>${escapeXml(provenance.dataset.labels.sha256)}</code>`,
            },
          ],
          ['modules', provenance.modules.join(', ') || '–'],
          ['seeds', provenance.seeds.join(', ')],
          [
            'runtime',
            `${runtime.id}, ${runtime.executionProvider}, ${runtime.intraOpThreads} intra-op / ${runtime.interOpThreads} inter-op threads, batch ${runtime.batchSize}`,
          ],
          ['tempest', environment.tempest],
          [
            'node / platform',
            `${environment.node} (V8 ${environment.v8}) / ${environment.platform}-${environment.arch} ${environment.osRelease}`,
          ],
          ['cpu', `${environment.cpuModel} x${environment.cpuCount}`],
          ['packages', packages || '–'],
          [
            'plan / results',
            {
              html: `<code>${escapeXml(provenance.artifacts.plan.sha256)}</code> / <code>${escapeXml(provenance.artifacts.results.sha256)}</code>`,
            },
          ],
          ['artifact store', code(provenance.artifacts.store)],
        ],
        true,
      ),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The page

const STYLE = `
:root{--ink:#1a1a1a;--muted:#5a5a5a;--line:#d0d0d0;--soft:#f4f5f7;--accent:#0b5cad;--warn:#a4300b}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
header,main{max-width:1280px;margin:0 auto;padding:0 24px}
header{padding-top:20px;border-bottom:1px solid var(--line)}
h1{font-size:1.6rem;margin:.2em 0}
h2{font-size:1.25rem;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1em 0 .3em}
.meta{color:var(--muted);margin:.2em 0 .8em}
nav ul{list-style:none;margin:0 0 12px;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}
nav a{color:var(--accent);text-decoration:none}nav a:hover{text-decoration:underline}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.table-wrap{overflow-x:auto;margin:8px 0 16px}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0;color:var(--muted)}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top;white-space:nowrap}
table.wrap td{white-space:normal}
thead th{background:var(--soft);position:sticky;top:0}
tbody th{font-weight:500}
tbody tr:nth-child(even){background:#fafbfc}
.figures{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px}
figure{margin:0}
svg.chart{max-width:100%;height:auto;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;background:#fff}
svg .chart-title{font-size:13px;font-weight:600;fill:var(--ink)}
svg .tick,svg .legend-label,svg .row-label{font-size:11px;fill:#333}
svg .axis-label{font-size:11px;fill:var(--muted)}
svg .grid{stroke:#e8e8e8}
svg .axis-line{stroke:#888}
svg .diagonal{stroke:#999;fill:none}
svg .whisker{stroke:#1a1a1a;stroke-width:1.2;fill:none}
svg .worst-label{font-size:10px;font-weight:700;fill:var(--warn)}
svg .cell-value{font-size:11px}
svg .frame{fill:none;stroke:var(--line)}
svg .no-data{font-size:12px;fill:var(--muted);font-style:italic}
svg .layer-label{font-size:11px;font-weight:600;fill:var(--muted);text-transform:uppercase;letter-spacing:.05em}
svg .node-box{fill:#f3f7fc;stroke:#7a9cc6}
svg .node-label{font-size:12px;font-weight:600;fill:var(--ink)}
svg .node-detail{font-size:10px;fill:#444}
svg .edge{fill:none;stroke:#7a8899;stroke-width:1.2}
svg .arrow-head{fill:#7a8899}
.gallery{margin:0 0 12px}
.examples{display:flex;flex-wrap:wrap;gap:10px}
.example{border:1px solid var(--line);padding:4px;background:var(--soft);font-size:12px;text-align:center}
.example img{display:block;image-rendering:pixelated;width:auto;max-width:100%;height:auto}
.flip{color:var(--warn)}
.confidence{color:var(--muted)}
.alert{color:var(--warn)}
.missing{display:inline-block;padding:8px;color:var(--muted)}
footer{max-width:1280px;margin:24px auto;padding:8px 24px;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
@media print{
  @page{margin:12mm}
  body{font-size:10.5pt}
  header,main,footer{max-width:none;padding:0}
  nav{display:none}
  h2{break-after:avoid}
  figure,.gallery,tr{break-inside:avoid}
  .table-wrap{overflow:visible}
  table{font-size:7.5pt}
  th,td{white-space:normal;padding:1px 3px}
  thead th{position:static}
  a{color:inherit;text-decoration:none}
}
`;

export function renderHtmlReport(input: HtmlReportInput): string {
  const { results, provenance, images, attacks } = input;
  const evaluation = results.evaluation;
  const sections = [
    // Alerts first, then the charts, then the (long, for sweeps) table of every condition.
    driftSection(results),
    corruptionSection(results),
    attackSection(attacks, results),
    summarySection(results),
    servingSection(input.serving),
    evaluation ? calibrationSection(results, evaluation) : null,
    evaluation ? subgroupSection(results, evaluation) : null,
    evaluation ? comparisonSection(evaluation) : null,
    evaluation ? failureSection(results, evaluation, images) : null,
    cellsSection(results),
    provenanceSection(results, provenance, attacks),
  ].filter((section): section is Section => section !== null);
  const title = `Tempest report: ${results.benchmark.name}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing on the page may load from anywhere: the policy makes that a guarantee, not a habit.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`,
    `<title>${escapeXml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${escapeXml(title)}</h1>`,
    `<p class="meta">Spec sha256 <code>${escapeXml(results.benchmark.specHash)}</code>, dataset ` +
      `<code>${escapeXml(results.dataset.hash.slice(0, 16))}</code> (${results.dataset.samples} samples), ` +
      `runtime ${escapeXml(results.runtime)}; run <code>${escapeXml(provenance.run.workflowId)}</code> ` +
      `(${escapeXml(provenance.run.executor)}), finished ${escapeXml(provenance.run.finishedAt)}.</p>`,
    `<nav aria-label="Sections"><ul>${sections
      .map((section) => `<li><a href="#${section.id}">${escapeXml(section.title)}</a></li>`)
      .join('')}</ul></nav>`,
    '</header>',
    '<main>',
    ...sections.map(
      (section) =>
        `<section id="${section.id}" aria-labelledby="${section.id}-heading">\n` +
        `<h2 id="${section.id}-heading">${escapeXml(section.title)}</h2>\n${section.body.join('\n')}\n</section>`,
    ),
    '</main>',
    `<footer>Generated by Tempest ${escapeXml(provenance.environment.tempest)} from results ` +
      `<code>${escapeXml(provenance.artifacts.results.sha256)}</code>; self-contained, no network requests.</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
