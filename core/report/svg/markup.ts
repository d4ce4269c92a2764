/**
 * The few pieces every chart writes SVG markup with. Charts are strings built on the server, so
 * the same input gives the same bytes: coordinates are rounded to two decimals, attributes keep
 * the order they are given in, and nothing reads a clock or a random source.
 */

export type Attributes = Readonly<Record<string, string | number | undefined>>;

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escape text for XML/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ENTITIES[character]);
}

/** A coordinate or length as written: at most two decimals, no trailing zeros, never "-0". */
export function coordinate(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`cannot draw the non-finite coordinate ${value}`);
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}

function attributeText(attributes: Attributes): string {
  return Object.entries(attributes)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${typeof value === 'number' ? coordinate(value) : escapeXml(value)}"`)
    .join('');
}

/** An element with attributes and already-rendered children; childless elements self-close. */
export function element(tag: string, attributes: Attributes = {}, ...children: readonly string[]): string {
  const open = `<${tag}${attributeText(attributes)}`;
  return children.length === 0 ? `${open}/>` : `${open}>${children.join('')}</${tag}>`;
}

/** A text node's content, escaped. */
export function text(content: string): string {
  return escapeXml(content);
}

/** A polyline path "M x y L x y ..." through the points. */
export function linePath(points: readonly (readonly [number, number])[]): string {
  return points
    .map(([x, y], index) => `${index === 0 ? 'M' : 'L'}${coordinate(x)} ${coordinate(y)}`)
    .join(' ');
}

/**
 * An identifier safe for SVG ids and fragment references, derived from a readable name: ids must
 * be unique across the whole HTML page, since every chart is inlined into it.
 */
export function slug(name: string): string {
  const base = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return base === '' ? 'x' : base;
}
