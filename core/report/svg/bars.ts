/**
 * Grouped bars with interval whiskers: per category (subgroup), one bar per series (condition).
 * Each series' worst category is highlighted with a heavy outline and a "worst" label.
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
import { coordinate, element, text } from './markup';
import { seriesColour } from './palette';
import { accuracyAxisFloor, bandScale, linearScale, niceTicks } from './scale';

export interface BarValue {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
}

export interface BarSeries {
  readonly name: string;
  /** One value per category, null where the category has no samples. */
  readonly values: readonly (BarValue | null)[];
  /** The index of the category to highlight (the worst group), if any. */
  readonly highlight: number | null;
}

export interface BarChartInput extends ChartText {
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
  readonly yLabel: string;
  readonly xLabel: string;
  readonly formatValue: (value: number) => string;
  readonly formatTick: (value: number) => string;
  readonly width?: number;
  readonly height?: number;
}

// More room on top than other charts: the "worst" label may sit above a bar at 100%.
const MARGIN = { ...PLOT_MARGIN, top: 40 };

export function groupedBarChart(input: BarChartInput): string {
  const height = input.height ?? 280;
  const width = input.width ?? Math.max(360, 90 + input.categories.length * (18 + 16 * input.series.length));
  const present = input.series.flatMap((entry) => entry.values.filter((value): value is BarValue => !!value));
  if (input.categories.length === 0 || present.length === 0) return noDataChart(input, width, 140);

  const area = plotArea(width, height, MARGIN);
  const floor = accuracyAxisFloor(present.map((value) => value.lower));
  const y = linearScale([floor, 1], [area.bottom, area.top]);
  const groups = bandScale(input.categories, [area.left, area.right], 0.2);
  const barWidth = groups.bandwidth / input.series.length;
  const drawn = input.series.map((entry, seriesIndex) => {
    const colour = seriesColour(seriesIndex);
    const bars = input.categories.map((category, index) => {
      const value = entry.values[index];
      if (!value) return '';
      const x = groups(category) + seriesIndex * barWidth;
      const centre = x + barWidth / 2;
      const worst = entry.highlight === index;
      const top = y(Math.max(floor, value.estimate));
      const [low, high] = [y(Math.max(floor, value.lower)), y(value.upper)];
      return element(
        'g',
        { class: worst ? 'bar worst' : 'bar' },
        element(
          'rect',
          {
            x: x + 1,
            y: top,
            width: Math.max(1, barWidth - 2),
            height: Math.max(0, area.bottom - top),
            fill: colour,
            'fill-opacity': worst ? 1 : 0.75,
            stroke: worst ? '#1a1a1a' : 'none',
            'stroke-width': worst ? 2 : 0,
          },
          element(
            'title',
            {},
            text(
              `${entry.name}, ${category}: ${input.formatValue(value.estimate)} ` +
                `[${input.formatValue(value.lower)}, ${input.formatValue(value.upper)}]${worst ? ' (worst group)' : ''}`,
            ),
          ),
        ),
        element('path', {
          d: [
            `M${coordinate(centre - 3)} ${coordinate(low)} H${coordinate(centre + 3)}`,
            `M${coordinate(centre)} ${coordinate(low)} V${coordinate(high)}`,
            `M${coordinate(centre - 3)} ${coordinate(high)} H${coordinate(centre + 3)}`,
          ].join(' '),
          class: 'whisker',
        }),
        worst
          ? element(
              'text',
              { x: centre, y: high - 5, 'text-anchor': 'middle', class: 'worst-label' },
              text('worst'),
            )
          : '',
      );
    });
    return element(
      'g',
      { class: 'series', 'data-series': entry.name },
      element('title', {}, text(entry.name)),
      ...bars,
    );
  });
  const key = legend(
    input.series.map((entry, index) => ({ label: entry.name, index, swatch: true })),
    area.left,
    height - 8,
    width - 8,
  );
  return svgRoot(input, width, height + (key.rows - 1) * LEGEND_ROW_HEIGHT, [
    chartTitle(input.title, width),
    leftAxis(y, area, niceTicks(floor, 1, 5), input.formatTick, input.yLabel),
    bottomAxis(
      area,
      input.categories.map((category) => ({
        position: groups(category) + groups.bandwidth / 2,
        label: category,
      })),
      input.xLabel,
    ),
    element('g', { class: 'plot' }, ...drawn),
    key.markup,
  ]);
}
