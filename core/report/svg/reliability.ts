/**
 * Reliability diagram: per confidence bin, the accuracy of the samples against their mean
 * confidence; a calibrated model lies on the diagonal. One series per condition (clean and a
 * perturbed one), marker area proportional to the bin's share of the samples.
 */
import {
  bottomAxis,
  chartTitle,
  leftAxis,
  legend,
  LEGEND_ROW_HEIGHT,
  noDataChart,
  PLOT_MARGIN,
  plotArea,
  svgRoot,
  type ChartText,
} from './chart';
import { element, linePath, text } from './markup';
import { seriesColour, seriesDash } from './palette';
import { linearScale, niceTicks } from './scale';

export interface ReliabilityPoint {
  readonly count: number;
  /** null for an empty bin (not drawn). */
  readonly meanConfidence: number | null;
  readonly accuracy: number | null;
}

export interface ReliabilitySeries {
  readonly name: string;
  readonly bins: readonly ReliabilityPoint[];
}

export interface ReliabilityInput extends ChartText {
  readonly series: readonly ReliabilitySeries[];
  readonly formatValue: (value: number) => string;
  readonly width?: number;
  readonly height?: number;
}

export function reliabilityDiagram(input: ReliabilityInput): string {
  const width = input.width ?? 320;
  const height = input.height ?? 320;
  const series = input.series
    .map((entry) => ({
      name: entry.name,
      total: entry.bins.reduce((sum, bin) => sum + bin.count, 0),
      bins: entry.bins.filter(
        (bin): bin is { count: number; meanConfidence: number; accuracy: number } =>
          bin.count > 0 && bin.meanConfidence !== null && bin.accuracy !== null,
      ),
    }))
    .filter((entry) => entry.bins.length > 0);
  if (series.length === 0) return noDataChart(input, width, 140);

  const area = plotArea(width, height, PLOT_MARGIN);
  const x = linearScale([0, 1], [area.left, area.right]);
  const y = linearScale([0, 1], [area.bottom, area.top]);
  const ticks = niceTicks(0, 1, 5);
  const tickLabel = (value: number) => value.toFixed(1);
  const drawn = series.map((entry, index) => {
    const colour = seriesColour(index);
    return element(
      'g',
      { class: 'series', 'data-series': entry.name },
      element('title', {}, text(entry.name)),
      element('path', {
        d: linePath(entry.bins.map((bin) => [x(bin.meanConfidence), y(bin.accuracy)])),
        class: 'line',
        fill: 'none',
        stroke: colour,
        'stroke-width': 1.8,
        'stroke-dasharray': seriesDash(index),
      }),
      ...entry.bins.map((bin) =>
        element(
          'circle',
          {
            cx: x(bin.meanConfidence),
            cy: y(bin.accuracy),
            r: 2 + 7 * Math.sqrt(bin.count / entry.total),
            fill: colour,
            'fill-opacity': 0.55,
            stroke: colour,
            class: 'point',
          },
          element(
            'title',
            {},
            text(
              `${entry.name}: ${bin.count} samples, mean confidence ${input.formatValue(bin.meanConfidence)}, ` +
                `accuracy ${input.formatValue(bin.accuracy)}`,
            ),
          ),
        ),
      ),
    );
  });
  const key = legend(
    series.map((entry, index) => ({ label: entry.name, index })),
    area.left,
    height - 8,
    width - 8,
  );
  return svgRoot(input, width, height + (key.rows - 1) * LEGEND_ROW_HEIGHT, [
    chartTitle(input.title, width),
    leftAxis(y, area, ticks, tickLabel, 'accuracy'),
    bottomAxis(
      area,
      ticks.map((tick) => ({ position: x(tick), label: tickLabel(tick) })),
      'confidence',
    ),
    element('line', {
      x1: x(0),
      y1: y(0),
      x2: x(1),
      y2: y(1),
      class: 'diagonal',
      'stroke-dasharray': '4 4',
    }),
    element('g', { class: 'plot' }, ...drawn),
    key.markup,
  ]);
}
