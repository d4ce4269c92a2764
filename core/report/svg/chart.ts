/**
 * What every chart shares: the accessible SVG root (role, title, desc), the plot frame, axes,
 * a legend and the note drawn when there is nothing to plot.
 */
import { coordinate, element, text } from './markup';
import { seriesColour, seriesDash } from './palette';
import type { LinearScale } from './scale';

export interface ChartText {
  /** Unique on the page: prefixes every id inside the chart. */
  readonly id: string;
  readonly title: string;
  readonly description: string;
}

export interface Margin {
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly left: number;
}

export interface PlotArea {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/** Room around the plot for the title (top), tick labels and axis titles (left, bottom) and the legend. */
export const PLOT_MARGIN: Margin = { top: 30, right: 16, bottom: 66, left: 58 };

export function plotArea(width: number, height: number, margin: Margin): PlotArea {
  return { left: margin.left, top: margin.top, right: width - margin.right, bottom: height - margin.bottom };
}

/** The <svg> root: a titled, described image for assistive technology, scaling with its container. */
export function svgRoot(chart: ChartText, width: number, height: number, body: readonly string[]): string {
  return element(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      viewBox: `0 0 ${coordinate(width)} ${coordinate(height)}`,
      width,
      height,
      role: 'img',
      'aria-labelledby': `${chart.id}-title ${chart.id}-desc`,
      class: 'chart',
      id: chart.id,
    },
    element('title', { id: `${chart.id}-title` }, text(chart.title)),
    element('desc', { id: `${chart.id}-desc` }, text(chart.description)),
    ...body,
  );
}

/** A chart with nothing to plot still says so, with its title, instead of an empty frame. */
export function noDataChart(chart: ChartText, width = 360, height = 120, note = 'No data to plot.'): string {
  return svgRoot({ ...chart, description: `${chart.description} ${note}` }, width, height, [
    element('rect', { x: 0.5, y: 0.5, width: width - 1, height: height - 1, class: 'frame' }),
    element(
      'text',
      { x: width / 2, y: 30, 'text-anchor': 'middle', class: 'chart-title' },
      text(chart.title),
    ),
    element(
      'text',
      { x: width / 2, y: height / 2 + 14, 'text-anchor': 'middle', class: 'no-data' },
      text(note),
    ),
  ]);
}

export function chartTitle(title: string, width: number): string {
  return element('text', { x: width / 2, y: 18, 'text-anchor': 'middle', class: 'chart-title' }, text(title));
}

/** Horizontal gridlines and labels at the ticks, and the axis title rotated along the left edge. */
export function leftAxis(
  scale: LinearScale,
  area: PlotArea,
  ticks: readonly number[],
  format: (value: number) => string,
  label: string,
): string {
  return element(
    'g',
    { class: 'axis axis-y' },
    ...ticks.map((tick) =>
      element(
        'g',
        {},
        element('line', { x1: area.left, x2: area.right, y1: scale(tick), y2: scale(tick), class: 'grid' }),
        element(
          'text',
          { x: area.left - 6, y: scale(tick) + 4, 'text-anchor': 'end', class: 'tick' },
          text(format(tick)),
        ),
      ),
    ),
    element('line', { x1: area.left, x2: area.left, y1: area.top, y2: area.bottom, class: 'axis-line' }),
    element(
      'text',
      {
        x: 0,
        y: 0,
        transform: `translate(${coordinate(area.left - 42)} ${coordinate((area.top + area.bottom) / 2)}) rotate(-90)`,
        'text-anchor': 'middle',
        class: 'axis-label',
      },
      text(label),
    ),
  );
}

/** Tick marks and labels along the bottom at given positions, and the axis title below them. */
export function bottomAxis(
  area: PlotArea,
  ticks: readonly { readonly position: number; readonly label: string }[],
  label: string,
): string {
  return element(
    'g',
    { class: 'axis axis-x' },
    element('line', { x1: area.left, x2: area.right, y1: area.bottom, y2: area.bottom, class: 'axis-line' }),
    ...ticks.map((tick) =>
      element(
        'g',
        {},
        element('line', {
          x1: tick.position,
          x2: tick.position,
          y1: area.bottom,
          y2: area.bottom + 4,
          class: 'axis-line',
        }),
        element(
          'text',
          { x: tick.position, y: area.bottom + 16, 'text-anchor': 'middle', class: 'tick' },
          text(tick.label),
        ),
      ),
    ),
    element(
      'text',
      { x: (area.left + area.right) / 2, y: area.bottom + 34, 'text-anchor': 'middle', class: 'axis-label' },
      text(label),
    ),
  );
}

export interface LegendEntry {
  readonly label: string;
  readonly index: number;
  /** Draw a filled swatch (bars) instead of a line sample (lines). */
  readonly swatch?: boolean;
}

export const LEGEND_ROW_HEIGHT = 16;

/**
 * A legend starting at (x, y), entries left to right, wrapping onto further rows below before
 * they pass `maxX`. Returns the markup and the number of rows, so a chart can grow to fit them.
 */
export function legend(
  entries: readonly LegendEntry[],
  x: number,
  y: number,
  maxX: number,
): { markup: string; rows: number } {
  let [offset, row] = [x, 0];
  const items = entries.map((entry) => {
    const itemWidth = 23 + estimateTextWidth(entry.label);
    if (offset > x && offset + itemWidth > maxX) [offset, row] = [x, row + 1];
    const baseline = y + row * LEGEND_ROW_HEIGHT;
    const colour = seriesColour(entry.index);
    const sample = entry.swatch
      ? element('rect', { x: offset, y: baseline - 8, width: 12, height: 10, fill: colour })
      : element('line', {
          x1: offset,
          x2: offset + 18,
          y1: baseline - 3,
          y2: baseline - 3,
          stroke: colour,
          'stroke-width': 2.5,
          'stroke-dasharray': seriesDash(entry.index),
        });
    const label = element(
      'text',
      { x: offset + 23, y: baseline + 1, class: 'legend-label' },
      text(entry.label),
    );
    offset += itemWidth + 16;
    return element('g', {}, sample, label);
  });
  return { markup: element('g', { class: 'legend' }, ...items), rows: entries.length === 0 ? 0 : row + 1 };
}

/** An estimate of a label's width in the charts' 11px sans-serif, for layout without a DOM. */
export function estimateTextWidth(label: string, fontSize = 11): number {
  return label.length * fontSize * 0.6;
}
