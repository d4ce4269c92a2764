import type { ProvenanceRecord } from './record';

/**
 * The lineage of a run as a small layered graph: data -> preprocessing -> perturbation or attack
 * -> model inference -> evaluation -> statistics -> report. Rendered to Graphviz DOT, Mermaid and
 * a self-contained SVG, so it can sit in a report, a README or a review.
 */
export type LineageKind =
  'data' | 'preprocessing' | 'transform' | 'model' | 'evaluation' | 'statistics' | 'report';

const LAYERS: readonly LineageKind[] = [
  'data',
  'preprocessing',
  'transform',
  'model',
  'evaluation',
  'statistics',
  'report',
];

export interface LineageNode {
  readonly id: string;
  readonly kind: LineageKind;
  readonly label: string;
  /** Second line: a hash prefix, a version, a count. */
  readonly detail: string;
}

export interface LineageGraph {
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly (readonly [string, string])[];
}

const short = (sha256: string) => sha256.slice(0, 12);

export function lineageOf(record: ProvenanceRecord): LineageGraph {
  const lineage = (record.dataset.lineage ?? {}) as {
    source?: string;
    description?: string;
    selection?: string;
  };
  const nodes: LineageNode[] = [
    {
      id: 'data',
      kind: 'data',
      label: `dataset (${lineage.source ?? 'data'})`,
      detail: `${record.dataset.samples} samples, ${short(record.dataset.hash)}`,
    },
    {
      id: 'prep',
      kind: 'preprocessing',
      label: 'selection and preprocessing',
      detail: lineage.selection ?? 'as loaded',
    },
    { id: 'clean', kind: 'transform', label: 'clean', detail: 'identity' },
    ...record.modules.map((module, index) => ({
      id: `t${index}`,
      kind: 'transform' as const,
      label: module.split('@')[0],
      detail: `v${module.split('@')[1] ?? '?'}, seeds ${record.seeds.join(',')}`,
    })),
    ...record.models.map((model, index) => ({
      id: `m${index}`,
      kind: 'model' as const,
      label: `model ${model.id}`,
      detail: short(model.sha256),
    })),
    {
      id: 'eval',
      kind: 'evaluation',
      label: 'evaluation',
      detail: `${record.counts.cells} cells, ${record.runtime.id.split('/')[0]}`,
    },
    {
      id: 'stats',
      kind: 'statistics',
      label: 'statistics (results.json)',
      detail: short(record.artifacts.results.sha256),
    },
    {
      id: 'report',
      kind: 'report',
      label: 'report',
      detail: record.artifacts.merkleRoot ? `merkle ${short(record.artifacts.merkleRoot)}` : 'report.md',
    },
  ];
  const transforms = nodes.filter((node) => node.kind === 'transform');
  const models = nodes.filter((node) => node.kind === 'model');
  const edges: [string, string][] = [['data', 'prep']];
  for (const transform of transforms) {
    edges.push(['prep', transform.id]);
    for (const model of models) edges.push([transform.id, model.id]);
  }
  for (const model of models) edges.push([model.id, 'eval']);
  edges.push(['eval', 'stats'], ['stats', 'report']);
  return { nodes, edges };
}

const quote = (text: string) => JSON.stringify(text);

export function lineageDot(graph: LineageGraph): string {
  const lines = [
    'digraph lineage {',
    '  rankdir=LR;',
    '  node [shape=box, style="rounded", fontname="Helvetica"];',
  ];
  for (const node of graph.nodes)
    lines.push(`  ${node.id} [label=${quote(`${node.label}\n${node.detail}`)}];`);
  for (const [from, to] of graph.edges) lines.push(`  ${from} -> ${to};`);
  lines.push('}', '');
  return lines.join('\n');
}

export function lineageMermaid(graph: LineageGraph): string {
  // Mermaid labels may not hold quotes or brackets unescaped.
  const label = (node: LineageNode) => `${node.label}<br/>${node.detail}`.replace(/["[\]]/g, "'");
  const lines = ['flowchart LR'];
  for (const node of graph.nodes) lines.push(`  ${node.id}["${label(node)}"]`);
  for (const [from, to] of graph.edges) lines.push(`  ${from} --> ${to}`);
  lines.push('');
  return lines.join('\n');
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Layers left to right, nodes of a layer stacked and centred; plain SVG with no scripts or fonts to fetch. */
export function lineageSvg(graph: LineageGraph): string {
  const width = 168;
  const height = 44;
  const gapX = 36;
  const gapY = 14;
  const layers = LAYERS.map((kind) => graph.nodes.filter((node) => node.kind === kind)).filter(
    (nodes) => nodes.length > 0,
  );
  const tallest = Math.max(...layers.map((nodes) => nodes.length));
  const totalHeight = tallest * (height + gapY) + gapY;
  const totalWidth = layers.length * (width + gapX) + gapX;
  const position = new Map<string, { x: number; y: number }>();
  layers.forEach((nodes, column) => {
    const top = (totalHeight - nodes.length * (height + gapY) + gapY) / 2;
    nodes.forEach((node, row) =>
      position.set(node.id, { x: gapX + column * (width + gapX), y: top + row * (height + gapY) }),
    );
  });
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${totalWidth} ${totalHeight}" width="${totalWidth}" height="${totalHeight}" role="img" aria-labelledby="lineage-title">`,
    '<title id="lineage-title">Lineage of the run: data, preprocessing, transforms, models, evaluation, statistics, report</title>',
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>',
  ];
  for (const [from, to] of graph.edges) {
    const a = position.get(from);
    const b = position.get(to);
    if (!a || !b) continue;
    parts.push(
      `<line x1="${a.x + width}" y1="${a.y + height / 2}" x2="${b.x}" y2="${b.y + height / 2}" stroke="#555" stroke-width="1" marker-end="url(#arrow)"/>`,
    );
  }
  for (const node of graph.nodes) {
    const at = position.get(node.id);
    if (!at) continue;
    parts.push(
      `<g class="lineage-node lineage-${node.kind}"><rect x="${at.x}" y="${at.y}" width="${width}" height="${height}" rx="6" fill="#f4f6fb" stroke="#3b4a6b"/>` +
        `<text x="${at.x + width / 2}" y="${at.y + 18}" text-anchor="middle" font-family="sans-serif" font-size="12">${escapeXml(node.label)}</text>` +
        `<text x="${at.x + width / 2}" y="${at.y + 34}" text-anchor="middle" font-family="monospace" font-size="10" fill="#555">${escapeXml(node.detail.slice(0, 28))}</text></g>`,
    );
  }
  parts.push('</svg>', '');
  return parts.join('\n');
}
