/**
 * Lines with confidence bands: one series per model, a point per x (severity, epsilon), the band
 * spanning each point's interval. Used for accuracy vs corruption severity and robust accuracy vs
 * attack epsilon.
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
import { accuracyAxisFloor, linearScale, niceTicks } from './scale';

export interface BandPoint {
  readonly x: number;
  readonly y: number;
  readonly lower: number;
  readonly upper: number;
}

export interface BandSeries {
  readonly name: string;
  readonly points: readonly BandPoint[];
}

export interface BandChartInput extends ChartText {
  readonly series: readonly BandSeries[];
  readonly xLabel: string;
  readonly yLabel: string;
  /** Label of an x value on the axis and in point tooltips. */
  readonly formatX: (x: number) => string;
  readonly formatY: (y: number) => string;
  /** Label of a y-axis tick (round values need fewer digits than data); formatY when absent. */
  readonly formatYTick?: (y: number) => string;
  /** Lower end of the y axis; by default fitted to the data. Small multiples pass one shared value. */
  readonly yFloor?: number;
  /** Draw ticks exactly at the data's x values (severities) rather than at round numbers. */
  readonly ticksAtData?: boolean;
  readonly width?: number;
  readonly height?: number;
}

export function bandLineChart(input: BandChartInput): string {
  const width = input.width ?? 380;
  const height = input.height ?? 270;
  const series = input.series
    .map((entry) => ({ ...entry, points: [...entry.points].sort((a, b) => a.x - b.x) }))
    .filter((entry) => entry.points.length > 0);
  if (series.length === 0) return noDataChart(input, width, 140);

  const points = series.flatMap((entry) => entry.points);
  const xs = [...new Set(points.map((point) => point.x))].sort((a, b) => a - b);
  const area = plotArea(width, height, PLOT_MARGIN);
  const x = linearScale([xs[0], xs[xs.length - 1]], [area.left + 10, area.right - 10]);
  const yFloor = input.yFloor ?? accuracyAxisFloor(points.map((point) => point.lower));
  const y = linearScale([yFloor, 1], [area.bottom, area.top]);
  const xTicks = input.ticksAtData ? xs : niceTicks(xs[0], xs[xs.length - 1], 5);

  const drawn = series.map((entry, index) => {
    const colour = seriesColour(index);
    const upper = entry.points.map((point) => [x(point.x), y(point.upper)] as const);
    const lower = entry.points.map((point) => [x(point.x), y(point.lower)] as const).reverse();
    return element(
      'g',
      { class: 'series', 'data-series': entry.name },
      element('title', {}, text(entry.name)),
      element('path', {
        d: `${linePath([...upper, ...lower])} Z`,
        class: 'band',
        fill: colour,
        'fill-opacity': 0.16,
        stroke: 'none',
      }),
      element('path', {
        d: linePath(entry.points.map((point) => [x(point.x), y(point.y)])),
        class: 'line',
        fill: 'none',
        stroke: colour,
        'stroke-width': 2,
        'stroke-dasharray': seriesDash(index),
      }),
      ...entry.points.map((point) =>
        element(
          'circle',
          { cx: x(point.x), cy: y(point.y), r: 3, fill: colour, class: 'point' },
          element(
            'title',
            {},
            text(
              `${entry.name}, ${input.xLabel} ${input.formatX(point.x)}: ${input.formatY(point.y)} ` +
                `[${input.formatY(point.lower)}, ${input.formatY(point.upper)}]`,
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
    leftAxis(y, area, niceTicks(yFloor, 1, 5), input.formatYTick ?? input.formatY, input.yLabel),
    bottomAxis(
      area,
      xTicks.map((tick) => ({ position: x(tick), label: input.formatX(tick) })),
      input.xLabel,
    ),
    element('g', { class: 'plot' }, ...drawn),
    key.markup,
  ]);
}
