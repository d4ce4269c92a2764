/**
 * The report's chart modules and page assembly, without a browser: scales, the geometry of what
 * the charts draw (bands enclose lines, whiskers enclose bar tops, calibrated bins lie on the
 * diagonal, lineage edges run left to right), "no data" notes, escaping and determinism.
 */
import { describe, expect, it } from 'vitest';
import type { ProvenanceRecord } from '../core/provenance/record';
import { lineageOf, renderHtmlReport, severitySeries, type AttackCurve } from '../core/report/html';
import type { BenchmarkResults, ConditionSummary } from '../core/results';
import { groupedBarChart } from '../core/report/svg/bars';
import { bandLineChart, type BandSeries } from '../core/report/svg/band-lines';
import { heatmap } from '../core/report/svg/heatmap';
import { layoutLineage, lineageGraph } from '../core/report/svg/lineage';
import { coordinate, element, escapeXml, slug } from '../core/report/svg/markup';
import { rampColour } from '../core/report/svg/palette';
import { reliabilityDiagram } from '../core/report/svg/reliability';
import { accuracyAxisFloor, bandScale, linearScale, niceTicks } from '../core/report/svg/scale';

/** The numbers of an SVG path "M x y L x y ..." as [x, y] pairs. */
function pathPoints(d: string): [number, number][] {
  const numbers = (d.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
  const points: [number, number][] = [];
  for (let index = 0; index + 1 < numbers.length; index += 2)
    points.push([numbers[index], numbers[index + 1]]);
  return points;
}

function attributeValues(svg: string, tag: string, className: string, attribute: string): string[] {
  const pattern = new RegExp(`<${tag}\\b[^>]*class="${className}"[^>]*>`, 'g');
  return [...svg.matchAll(pattern)].map((match) => {
    const value = new RegExp(`\\s${attribute}="([^"]*)"`).exec(match[0]);
    return value ? value[1] : '';
  });
}

/** Parses a #rrggbb colour's relative luminance (darker is lower). */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((offset) => parseInt(hex.slice(offset, offset + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

const text = { id: 'chart', title: 'A chart', description: 'What the chart shows, for a screen reader.' };

describe('markup and scales', () => {
  it('escapes text and attributes, and writes coordinates with at most two decimals', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(element('text', { x: 1.005, label: 'a"b', skip: undefined }, 'x &amp; y')).toBe(
      '<text x="1" label="a&quot;b">x &amp; y</text>',
    );
    expect(coordinate(-0.001)).toBe('0');
    expect(coordinate(12.3456)).toBe('12.35');
    expect(() => coordinate(Number.NaN)).toThrow(/non-finite/);
    expect(slug('Gaussian Noise/s5 (seed 1)')).toBe('gaussian-noise-s5-seed-1');
  });

  it('maps a domain linearly onto a range, including inverted (SVG y) ranges', () => {
    const x = linearScale([0, 5], [100, 600]);
    expect([x(0), x(2.5), x(5)]).toEqual([100, 350, 600]);
    const y = linearScale([0.7, 1], [250, 30]);
    expect(y(0.7)).toBe(250);
    expect(y(1)).toBeCloseTo(30, 10);
    expect(y(0.85)).toBeCloseTo(140, 10);
    // A degenerate domain (one severity) maps to the middle instead of dividing by zero.
    expect(linearScale([3, 3], [0, 10])(3)).toBe(5);
  });

  it('picks round ticks that cover the domain and pads high-accuracy axes', () => {
    expect(niceTicks(0.7, 1, 5)).toEqual([0.7, 0.8, 0.9, 1]);
    expect(niceTicks(0.9, 1, 5)).toEqual([0.9, 0.92, 0.94, 0.96, 0.98, 1]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 8 / 255, 4).every((tick) => tick >= 0 && tick <= 8 / 255)).toBe(true);
    expect(accuracyAxisFloor([0.96, 0.7475, 0.99])).toBe(0.7);
    expect(accuracyAxisFloor([0.9])).toBe(0.8);
    expect(accuracyAxisFloor([0.3, 0.9])).toBe(0);
  });

  it('lays out bands inside the range without overlap', () => {
    const bands = bandScale(['a', 'b', 'c'], [0, 300], 0.2);
    const edges = bands.keys.map((key) => [bands(key), bands(key) + bands.bandwidth]);
    expect(bands.bandwidth).toBeCloseTo(80, 10);
    expect(edges[0][0]).toBeGreaterThanOrEqual(0);
    expect(edges[2][1]).toBeLessThanOrEqual(300);
    for (let index = 1; index < edges.length; index += 1)
      expect(edges[index][0]).toBeGreaterThan(edges[index - 1][1]);
    expect(() => bands('d')).toThrow(/not one of/);
  });
});

describe('charts', () => {
  const series: BandSeries[] = [
    {
      name: 'mlp',
      points: [
        { x: 0, y: 0.97, lower: 0.955, upper: 0.98 },
        { x: 3, y: 0.95, lower: 0.93, upper: 0.965 },
        { x: 1, y: 0.967, lower: 0.95, upper: 0.977 },
        { x: 5, y: 0.7475, lower: 0.717, upper: 0.776 },
      ],
    },
    {
      name: 'cnn',
      points: [
        { x: 0, y: 0.975, lower: 0.963, upper: 0.983 },
        { x: 5, y: 0.8955, lower: 0.874, upper: 0.913 },
      ],
    },
  ];
  const bandInput = {
    ...text,
    series,
    xLabel: 'severity',
    yLabel: 'accuracy',
    formatX: (x: number) => `s${x}`,
    formatY: (y: number) => `${(y * 100).toFixed(2)}%`,
    ticksAtData: true,
  };

  it('draws one band and one line per series, each band enclosing its line', () => {
    const svg = bandLineChart(bandInput);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('<title id="chart-title">A chart</title><desc id="chart-desc">');
    expect(attributeValues(svg, 'g', 'series', 'data-series')).toEqual(['mlp', 'cnn']);
    const bands = attributeValues(svg, 'path', 'band', 'd').map(pathPoints);
    const lines = attributeValues(svg, 'path', 'line', 'd').map(pathPoints);
    expect(lines.map((line) => line.length)).toEqual([4, 2]);
    lines.forEach((line, index) => {
      // The line runs left to right (points sorted by x) ...
      expect(line.map(([x]) => x)).toEqual([...line.map(([x]) => x)].sort((a, b) => a - b));
      const band = bands[index];
      expect(band.length).toBe(2 * line.length);
      line.forEach(([x, y], point) => {
        // ... and at each x the band's upper edge is above (smaller SVG y) and its lower edge below.
        const upper = band[point];
        const lower = band[band.length - 1 - point];
        expect(upper[0]).toBe(x);
        expect(lower[0]).toBe(x);
        expect(upper[1]).toBeLessThanOrEqual(y);
        expect(lower[1]).toBeGreaterThanOrEqual(y);
      });
    });
    // Ticks at the data's severities, and a tooltip per point with its interval.
    expect(svg).toContain('>s0<');
    expect(svg).toContain('<title>mlp, severity s5: 74.75% [71.70%, 77.60%]</title>');
  });

  it('is deterministic and takes a shared y floor', () => {
    expect(bandLineChart(bandInput)).toBe(bandLineChart(bandInput));
    const shared = bandLineChart({ ...bandInput, yFloor: 0 });
    expect(shared).toContain('>0.00%<');
    expect(bandLineChart(bandInput)).not.toContain('>0.00%<');
  });

  it('renders a titled "no data" note for empty input, for every chart type', () => {
    const empty = [
      bandLineChart({ ...bandInput, series: [] }),
      bandLineChart({ ...bandInput, series: [{ name: 'mlp', points: [] }] }),
      heatmap({
        ...text,
        rows: ['mlp'],
        columns: ['fog'],
        values: [[null]],
        format: String,
        legendLabel: 'accuracy',
        higherIsBetter: true,
      }),
      reliabilityDiagram({
        ...text,
        series: [{ name: 'clean', bins: [{ count: 0, meanConfidence: null, accuracy: null }] }],
        formatValue: String,
      }),
      groupedBarChart({
        ...text,
        categories: ['class 0'],
        series: [{ name: 'clean', values: [null], highlight: null }],
        xLabel: 'class',
        yLabel: 'accuracy',
        formatValue: String,
        formatTick: String,
      }),
      lineageGraph({ ...text, layers: ['data'], nodes: [], edges: [] }),
    ];
    for (const svg of empty) {
      expect(svg).toContain('class="no-data">No data to plot.</text>');
      expect(svg).toContain('<title id="chart-title">A chart</title>');
      expect(svg).not.toContain('class="series"');
    }
  });

  it('colours the heatmap darker for better values, whichever direction is better', () => {
    const fills = (higherIsBetter: boolean) =>
      attributeValues(
        heatmap({
          ...text,
          rows: ['mlp', 'cnn'],
          columns: ['fog', 'snow'],
          values: [
            [0.3, 0.69],
            [0.757, null],
          ],
          format: (value) => value.toFixed(3),
          legendLabel: 'value',
          higherIsBetter,
        }).replace(/<rect /g, '<rect class="cell" '),
        'rect',
        'cell',
        'fill',
      ).filter((fill) => fill.startsWith('#'));
    const [low, mid, high, missing] = fills(true);
    expect(luminance(low)).toBeGreaterThan(luminance(mid));
    expect(luminance(mid)).toBeGreaterThan(luminance(high));
    expect(missing).toBe('#e6e6e6');
    const [lowError, , highError] = fills(false);
    expect(luminance(lowError)).toBeLessThan(luminance(highError));
    expect(rampColour(0)).toBe('#f7fcf0');
    expect(rampColour(1)).toBe('#084081');
    expect(rampColour(2)).toBe(rampColour(1));
  });

  it('puts perfectly calibrated bins on the diagonal', () => {
    const svg = reliabilityDiagram({
      ...text,
      series: [
        {
          name: 'calibrated',
          bins: [
            { count: 10, meanConfidence: 0.3, accuracy: 0.3 },
            { count: 0, meanConfidence: null, accuracy: null },
            { count: 90, meanConfidence: 0.9, accuracy: 0.9 },
          ],
        },
        { name: 'overconfident', bins: [{ count: 50, meanConfidence: 0.9, accuracy: 0.5 }] },
      ],
      formatValue: (value) => value.toFixed(2),
    });
    const [x1, y1, x2, y2] = ['x1', 'y1', 'x2', 'y2'].map((name) =>
      Number(attributeValues(svg, 'line', 'diagonal', name)[0]),
    );
    const onDiagonal = (x: number, y: number) =>
      Math.abs((y - y1) * (x2 - x1) - (y2 - y1) * (x - x1)) < 1e-6 * 1e4;
    const points = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)"/g)].map((match) =>
      match.slice(1).map(Number),
    );
    expect(points).toHaveLength(3); // the empty bin is not drawn
    expect(onDiagonal(points[0][0], points[0][1])).toBe(true);
    expect(onDiagonal(points[1][0], points[1][1])).toBe(true);
    expect(onDiagonal(points[2][0], points[2][1])).toBe(false);
    // Marker area grows with the bin's share of samples.
    expect(points[1][2]).toBeGreaterThan(points[0][2]);
  });

  it("highlights each series' worst group and draws whiskers through the bar tops", () => {
    const svg = groupedBarChart({
      ...text,
      categories: ['class 0', 'class 1', 'class 2'],
      series: [
        {
          name: 'clean',
          values: [
            { estimate: 0.99, lower: 0.95, upper: 1 },
            { estimate: 0.91, lower: 0.83, upper: 0.95 },
            { estimate: 0.97, lower: 0.92, upper: 0.99 },
          ],
          highlight: 1,
        },
        {
          name: 'noise/s5',
          values: [
            { estimate: 0.6, lower: 0.5, upper: 0.7 },
            null,
            { estimate: 0.1, lower: 0.06, upper: 0.17 },
          ],
          highlight: 2,
        },
      ],
      xLabel: 'class',
      yLabel: 'accuracy',
      formatValue: (value) => `${(value * 100).toFixed(2)}%`,
      formatTick: (value) => `${Math.round(value * 100)}%`,
    });
    expect((svg.match(/<g class="bar worst">/g) ?? []).length).toBe(2);
    expect((svg.match(/<g class="bar">/g) ?? []).length).toBe(3); // 5 bars, one missing value
    expect(svg).toContain('class 1: 91.00% [83.00%, 95.00%] (worst group)</title>');
    const bars = [
      ...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)"[^>]*>.*?<path d="([^"]+)" class="whisker"/g),
    ];
    expect(bars).toHaveLength(5);
    for (const [, top, whisker] of bars) {
      const ys = pathPoints(whisker).map(([, y]) => y);
      expect(Math.min(...ys)).toBeLessThanOrEqual(Number(top));
      expect(Math.max(...ys)).toBeGreaterThanOrEqual(Number(top));
    }
  });

  it('lays out lineage layers left to right without overlapping nodes, and rejects dangling edges', () => {
    const nodes = [
      { id: 'data', layer: 0, label: 'data', details: ['1000 samples'] },
      { id: 'clean', layer: 1, label: 'clean', details: [] },
      { id: 'noise', layer: 1, label: 'gaussian_noise@1.1.0', details: ['seeds 1, 2'] },
      { id: 'model', layer: 2, label: 'model mlp', details: ['sha256 94f29f1fe75a', '407488 bytes'] },
    ];
    const { placed } = layoutLineage(3, nodes);
    const at = new Map(placed.map((node) => [node.id, node]));
    expect(at.get('data')!.x).toBeLessThan(at.get('clean')!.x);
    expect(at.get('clean')!.x).toBe(at.get('noise')!.x);
    expect(at.get('clean')!.y + at.get('clean')!.height).toBeLessThan(at.get('noise')!.y);
    const edges = [
      { from: 'data', to: 'clean' },
      { from: 'data', to: 'noise' },
      { from: 'clean', to: 'model' },
      { from: 'noise', to: 'model' },
    ];
    const svg = lineageGraph({ ...text, layers: ['data', 'perturbation', 'model'], nodes, edges });
    const paths = attributeValues(svg, 'path', 'edge', 'd').map(pathPoints);
    expect(paths).toHaveLength(4);
    for (const points of paths) expect(points[points.length - 1][0]).toBeGreaterThan(points[0][0]);
    expect(svg).toContain('marker-end="url(#chart-arrow)"');
    expect(() =>
      lineageGraph({
        ...text,
        layers: ['data'],
        nodes: nodes.slice(0, 1),
        edges: [{ from: 'data', to: 'x' }],
      }),
    ).toThrow(/no node "x"/);
  });
});

// A minimal run: one model, clean and one corruption at two severities, no evaluation.
const summaryRow = (condition: string, severity: number | null, accuracy: number): ConditionSummary => ({
  model: 'mlp',
  condition,
  corruption: severity === null ? null : 'fog',
  severity,
  replicates: 1,
  accuracy: { mean: accuracy, min: accuracy - 0.01, max: accuracy + 0.01, sd: null },
});

const results: BenchmarkResults = {
  apiVersion: 'tempest.results/v1',
  benchmark: { name: 'tiny <run>', specHash: 'a'.repeat(64) },
  runtime: 'onnxruntime-node@1.30.0/cpu',
  dataset: {
    hash: 'b'.repeat(64),
    labels: 'c'.repeat(64),
    samples: 100,
    sampleDims: [4],
    lineage: { source: 'csv' },
  },
  models: [{ id: 'mlp', sha256: 'd'.repeat(64) }],
  modules: ['fog@1.0.0'],
  seeds: [1],
  summary: [summaryRow('clean', null, 0.9), summaryRow('fog/s1', 1, 0.8), summaryRow('fog/s3', 3, 0.5)],
  cells: [],
};

const ref = (sha256: string) => ({ sha256, size: 1, mediaType: 'application/json' });
const provenance: ProvenanceRecord = {
  apiVersion: 'tempest.run/v1',
  nondeterminism: [],
  run: {
    executor: 'local',
    workflowId: 'tempest-tiny',
    runId: 'run-1',
    namespace: 'local',
    taskQueue: 'in-process',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
  },
  spec: { name: 'tiny', sha256: 'a'.repeat(64), source: 'tiny.yaml', text: '' },
  models: [{ id: 'mlp', path: 'mlp.onnx', sha256: 'd'.repeat(64), size: 10 }],
  dataset: {
    hash: 'b'.repeat(64),
    inputs: ref('e'.repeat(64)),
    labels: ref('c'.repeat(64)),
    samples: 100,
    lineage: {},
  },
  modules: ['fog@1.0.0'],
  seeds: [1],
  runtime: {
    id: 'onnxruntime-node@1.30.0/cpu',
    executionProvider: 'cpu',
    intraOpThreads: 1,
    interOpThreads: 1,
    batchSize: 10,
  },
  artifacts: { store: 'file:///tmp/store', plan: ref('f'.repeat(64)), results: ref('0'.repeat(64)) },
  environment: {
    tempest: '0.1.0',
    node: '20.0.0',
    v8: '11',
    platform: 'linux',
    osRelease: '6',
    arch: 'x64',
    cpuModel: 'cpu',
    cpuCount: 2,
    totalMemoryBytes: 1,
    hostname: 'h',
    user: 'u',
    packages: {},
  },
  cells: [],
  counts: { cells: 0, computed: 0, reused: 0, retried: 0 },
};

describe('the page', () => {
  it('draws severity curves from the summary (clean as severity 0) when the run has no evaluation', () => {
    const [fog] = severitySeries(results);
    expect(fog.corruption).toBe('fog');
    expect(fog.series[0].points).toEqual([
      { x: 0, y: 0.9, lower: 0.89, upper: 0.91 },
      { x: 1, y: 0.8, lower: 0.79, upper: 0.81 },
      { x: 3, y: 0.5, lower: 0.49, upper: 0.51 },
    ]);
  });

  it('shows only the sections it has data for, and the attack panel when attack curves are given', () => {
    const page = renderHtmlReport({ results, provenance, images: new Map() });
    expect(page).toContain('<h2 id="corruptions-heading">');
    expect(page).toContain('<title>Tempest report: tiny &lt;run&gt;</title>');
    for (const absent of ['attacks', 'drift', 'calibration', 'subgroups', 'comparisons', 'failures']) {
      expect(page).not.toContain(`<section id="${absent}"`);
    }
    expect(page).not.toContain('id="heatmap-ce"');

    const attacks: AttackCurve[] = ['mlp', 'cnn'].map((model, index) => ({
      model,
      attack: 'pgd-linf',
      points: [0, 2 / 255, 8 / 255].map((epsilon) => ({
        epsilon,
        robustAccuracy: 0.9 - epsilon * (5 + index),
        lower: 0.85 - epsilon * (5 + index),
        upper: 0.95 - epsilon * (5 + index),
      })),
    }));
    const withAttacks = renderHtmlReport({ results, provenance, images: new Map(), attacks });
    const chart = /<svg[^>]*id="attack-0-pgd-linf"[\s\S]*?<\/svg>/.exec(withAttacks)?.[0] ?? '';
    expect(chart).toContain(
      '<title id="attack-0-pgd-linf-title">Robust accuracy vs epsilon: pgd-linf</title>',
    );
    expect(attributeValues(chart, 'g', 'series', 'data-series')).toEqual(['mlp', 'cnn']);
    expect(chart).toContain('>0.00784<'); // 2/255 to three significant digits
    expect(withAttacks.indexOf('id="attacks"')).toBeLessThan(withAttacks.indexOf('id="summary"'));
    // The attack also appears in the lineage, between the data and the model.
    const lineage = lineageOf(results, provenance, attacks);
    expect(lineage.nodes.filter((node) => node.layer === 1).map((node) => node.label)).toEqual([
      'clean',
      'fog@1.0.0',
      'pgd-linf',
    ]);
  });

  it('puts drift alerts first, with the baseline interval and the shift', () => {
    const drifted: BenchmarkResults = {
      ...results,
      drift: {
        baseline: '9'.repeat(64),
        alerts: [
          {
            kind: 'drift',
            metric: 'accuracy',
            model: 'mlp',
            condition: 'fog/s3',
            seed: 1,
            baseline: { value: 0.6, lower: 0.55, upper: 0.65, level: 0.95 },
            current: 0.5,
            shift: -0.1,
            message: 'mlp fog/s3 <seed 1>: accuracy 50.00% outside [55.00%, 65.00%]',
          },
        ],
      },
    };
    const page = renderHtmlReport({ results: drifted, provenance, images: new Map() });
    expect(page.indexOf('<section id="drift"')).toBeLessThan(page.indexOf('<section id="corruptions"'));
    expect(page).toContain(
      '<strong>1 alert(s)</strong> against the baseline run (results <code>9999999999999999</code>)',
    );
    expect(page).toContain('<td>[55.00%, 65.00%]</td><td>50.00%</td><td>-10.00</td>');
    expect(page).toContain('&lt;seed 1&gt;');
    const calm = renderHtmlReport({
      results: { ...drifted, drift: { ...drifted.drift!, alerts: [] } },
      provenance,
      images: new Map(),
    });
    expect(calm).toContain('Every cell matches the baseline run');
  });

  it('keeps element ids unique when names slug alike', () => {
    const alike: BenchmarkResults = {
      ...results,
      summary: [
        ...results.summary,
        { ...summaryRow('fog.x/s1', 1, 0.7), corruption: 'fog.x' },
        { ...summaryRow('fog-x/s1', 1, 0.6), corruption: 'fog-x' },
      ],
    };
    const ids = [
      ...renderHtmlReport({ results: alike, provenance, images: new Map() }).matchAll(/\sid="([^"]+)"/g),
    ].map((match) => match[1]);
    expect(ids).toContain('severity-1-fog-x');
    expect(ids).toContain('severity-2-fog-x');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives the same bytes for the same input', () => {
    const render = () => renderHtmlReport({ results, provenance, images: new Map() });
    expect(render()).toBe(render());
  });
});
