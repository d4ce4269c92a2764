/** A heatmap of rows x columns (models x corruptions) with the value in every cell and a colour legend. */
import { chartTitle, estimateTextWidth, noDataChart, svgRoot, type ChartText } from './chart';
import { coordinate, element, text } from './markup';
import { rampColour, rampTextColour } from './palette';
import { linearScale } from './scale';

export interface HeatmapInput extends ChartText {
  readonly rows: readonly string[];
  readonly columns: readonly string[];
  /** values[row][column]; null where there is no value (drawn hatched-grey, labelled "–"). */
  readonly values: readonly (readonly (number | null)[])[];
  readonly format: (value: number) => string;
  readonly legendLabel: string;
  /** True when higher values are better (accuracy): then the dark end means good. */
  readonly higherIsBetter: boolean;
}

const CELL_WIDTH = 64;
const CELL_HEIGHT = 30;

export function heatmap(input: HeatmapInput): string {
  const values = input.values.flat().filter((value): value is number => value !== null);
  if (input.rows.length === 0 || input.columns.length === 0 || values.length === 0) {
    return noDataChart(input);
  }
  const min = Math.min(...values);
  const max = Math.max(...values);
  // The colour encodes "better": accuracy maps low->light, error (CE) maps high->light.
  const toT = linearScale(input.higherIsBetter ? [min, max] : [max, min], [0, 1]);
  const rowLabelWidth = Math.max(60, ...input.rows.map((row) => estimateTextWidth(row, 12))) + 16;
  // Column labels are rotated 45 degrees from the middle of their column: each reaches up and to
  // the right by about 0.71 of its length, which the top margin and the width must leave room for.
  const reach = input.columns.map((column) => 0.71 * estimateTextWidth(column));
  const left = rowLabelWidth;
  const top = 38 + Math.max(30, ...reach);
  const gridWidth = input.columns.length * CELL_WIDTH;
  const labelsRight = Math.max(...reach.map((length, index) => left + (index + 0.5) * CELL_WIDTH + length));
  const width = Math.max(left + gridWidth, labelsRight, estimateTextWidth(input.title, 13) + 20, 320) + 16;
  const legendTop = top + input.rows.length * CELL_HEIGHT + 22;
  const height = legendTop + 46;
  const gradientId = `${input.id}-gradient`;

  const columnLabels = input.columns.map((column, index) => {
    const x = left + index * CELL_WIDTH + CELL_WIDTH / 2;
    return element(
      'text',
      {
        x: 0,
        y: 0,
        transform: `translate(${coordinate(x)} ${coordinate(top - 6)}) rotate(-45)`,
        class: 'tick',
      },
      text(column),
    );
  });
  const rows = input.rows.map((row, rowIndex) => {
    const y = top + rowIndex * CELL_HEIGHT;
    return element(
      'g',
      { class: 'heatmap-row', 'data-row': row },
      element(
        'text',
        { x: left - 8, y: y + CELL_HEIGHT / 2 + 4, 'text-anchor': 'end', class: 'row-label' },
        text(row),
      ),
      ...input.columns.map((column, columnIndex) => {
        const value = input.values[rowIndex]?.[columnIndex] ?? null;
        const x = left + columnIndex * CELL_WIDTH;
        const t = value === null ? 0 : toT(value);
        const label = value === null ? '–' : input.format(value);
        return element(
          'g',
          { class: 'heatmap-cell' },
          element(
            'rect',
            {
              x,
              y,
              width: CELL_WIDTH - 2,
              height: CELL_HEIGHT - 2,
              fill: value === null ? '#e6e6e6' : rampColour(t),
            },
            element('title', {}, text(`${row}, ${column}: ${label}`)),
          ),
          element(
            'text',
            {
              x: x + (CELL_WIDTH - 2) / 2,
              y: y + CELL_HEIGHT / 2 + 3,
              'text-anchor': 'middle',
              class: 'cell-value',
              fill: value === null ? '#1a1a1a' : rampTextColour(t),
            },
            text(label),
          ),
        );
      }),
    );
  });
  const legendWidth = Math.min(220, Math.max(140, gridWidth));
  const [light, dark] = input.higherIsBetter ? [min, max] : [max, min];
  const legend = element(
    'g',
    { class: 'legend' },
    element(
      'defs',
      {},
      element(
        'linearGradient',
        { id: gradientId, x1: 0, x2: 1, y1: 0, y2: 0 },
        ...[0, 0.25, 0.5, 0.75, 1].map((offset) =>
          element('stop', { offset, 'stop-color': rampColour(offset) }),
        ),
      ),
    ),
    element('text', { x: left, y: legendTop - 4, class: 'legend-label' }, text(input.legendLabel)),
    element('rect', {
      x: left,
      y: legendTop,
      width: legendWidth,
      height: 10,
      fill: `url(#${gradientId})`,
      class: 'legend-ramp',
    }),
    element('text', { x: left, y: legendTop + 24, class: 'tick' }, text(input.format(light))),
    element(
      'text',
      { x: left + legendWidth, y: legendTop + 24, 'text-anchor': 'end', class: 'tick' },
      text(input.format(dark)),
    ),
  );
  return svgRoot(input, width, height, [chartTitle(input.title, width), ...columnLabels, ...rows, legend]);
}
