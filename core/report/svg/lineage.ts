/**
 * The lineage graph: a layered left-to-right DAG (data -> perturbation -> model -> evaluation ->
 * statistics), each node a box with a label and a few detail lines, edges as arrowed curves.
 */
import { noDataChart, svgRoot, type ChartText } from './chart';
import { coordinate, element, text } from './markup';

export interface LineageNode {
  readonly id: string;
  /** Index of the layer (column), 0 = leftmost. */
  readonly layer: number;
  readonly label: string;
  readonly details: readonly string[];
}

export interface LineageEdge {
  readonly from: string;
  readonly to: string;
}

export interface LineageInput extends ChartText {
  readonly layers: readonly string[];
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageEdge[];
}

const NODE_WIDTH = 172;
const LAYER_GAP = 40;
const LINE_HEIGHT = 13;
const NODE_GAP = 14;
const TOP = 38;
/** Longer labels are cut with an ellipsis; the node's tooltip has the full text. */
const MAX_CHARS = 26;

const clip = (value: string) => (value.length > MAX_CHARS ? `${value.slice(0, MAX_CHARS - 1)}…` : value);

const nodeHeight = (node: LineageNode) => 24 + node.details.length * LINE_HEIGHT;

export interface PlacedNode extends LineageNode {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Node positions: layers side by side, each layer's nodes stacked and centred vertically. */
export function layoutLineage(
  layers: number,
  nodes: readonly LineageNode[],
): { placed: PlacedNode[]; height: number } {
  const columns = Array.from({ length: layers }, (_, layer) => nodes.filter((node) => node.layer === layer));
  const columnHeight = (column: readonly LineageNode[]) =>
    column.reduce((sum, node) => sum + nodeHeight(node), 0) + Math.max(0, column.length - 1) * NODE_GAP;
  const tallest = Math.max(0, ...columns.map(columnHeight));
  const placed = columns.flatMap((column, layer) => {
    let y = TOP + (tallest - columnHeight(column)) / 2;
    return column.map((node) => {
      const at = {
        ...node,
        x: 10 + layer * (NODE_WIDTH + LAYER_GAP),
        y,
        width: NODE_WIDTH,
        height: nodeHeight(node),
      };
      y += at.height + NODE_GAP;
      return at;
    });
  });
  return { placed, height: TOP + tallest + 12 };
}

export function lineageGraph(input: LineageInput): string {
  if (input.nodes.length === 0) return noDataChart(input);
  for (const edge of input.edges) {
    for (const end of [edge.from, edge.to]) {
      if (!input.nodes.some((node) => node.id === end))
        throw new Error(`lineage edge names no node "${end}"`);
    }
  }
  const { placed, height } = layoutLineage(input.layers.length, input.nodes);
  const width = 20 + input.layers.length * NODE_WIDTH + (input.layers.length - 1) * LAYER_GAP;
  const at = new Map(placed.map((node) => [node.id, node]));
  const arrowId = `${input.id}-arrow`;
  const headings = input.layers.map((layer, index) =>
    element(
      'text',
      {
        x: 10 + index * (NODE_WIDTH + LAYER_GAP) + NODE_WIDTH / 2,
        y: 20,
        'text-anchor': 'middle',
        class: 'layer-label',
      },
      text(layer),
    ),
  );
  const edges = input.edges.map((edge) => {
    const from = at.get(edge.from)!;
    const to = at.get(edge.to)!;
    const [x1, y1] = [from.x + from.width, from.y + from.height / 2];
    const [x2, y2] = [to.x - 2, to.y + to.height / 2];
    const bend = (x2 - x1) / 2;
    return element('path', {
      d: `M${coordinate(x1)} ${coordinate(y1)} C${coordinate(x1 + bend)} ${coordinate(y1)} ${coordinate(x2 - bend)} ${coordinate(y2)} ${coordinate(x2)} ${coordinate(y2)}`,
      class: 'edge',
      'marker-end': `url(#${arrowId})`,
      'data-from': edge.from,
      'data-to': edge.to,
    });
  });
  const nodes = placed.map((node) =>
    element(
      'g',
      { class: 'node', 'data-node': node.id },
      element('title', {}, text([node.label, ...node.details].join('\n'))),
      element('rect', {
        x: node.x,
        y: node.y,
        width: node.width,
        height: node.height,
        rx: 5,
        class: 'node-box',
      }),
      element('text', { x: node.x + 8, y: node.y + 16, class: 'node-label' }, text(clip(node.label))),
      ...node.details.map((detail, index) =>
        element(
          'text',
          { x: node.x + 8, y: node.y + 16 + (index + 1) * LINE_HEIGHT, class: 'node-detail' },
          text(clip(detail)),
        ),
      ),
    ),
  );
  return svgRoot(input, width, height, [
    element(
      'defs',
      {},
      element(
        'marker',
        {
          id: arrowId,
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto',
        },
        element('path', { d: 'M0 0 L10 5 L0 10 Z', class: 'arrow-head' }),
      ),
    ),
    ...headings,
    element('g', { class: 'edges' }, ...edges),
    element('g', { class: 'nodes' }, ...nodes),
  ]);
}
