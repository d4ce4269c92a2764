import type { PhiloxStream } from './philox';

/**
 * Standard normal draws by the ziggurat method of Marsaglia & Tsang ("The Ziggurat Method for
 * Generating Random Variables", J. Stat. Softw. 5(8), 2000), 128 layers, one 32-bit Philox word
 * per draw in about 97% of draws. The density is covered by 128 layers of equal area: layer i
 * spans [0, x[i]) and most of a layer lies under the curve, so a draw picks a layer and a
 * position in it and is accepted at once when the position is left of the layer above's edge.
 *
 * Unlike the paper's RNOR, which takes the layer index from the same bits as the position (the
 * flaw Doornik, "An Improved Ziggurat Method to Generate Normal Random Samples", 2005, showed in
 * the output's correlations), each word is split into disjoint fields: bits 0-6 pick the layer,
 * bit 7 the sign, bits 8-31 the position (24 bits, the float32 mantissa's width). The rare draws
 * that land in a wedge or in the tail take further words, uniforms in (0, 1), from the stream.
 *
 * The tables are computed at load from Math.exp, Math.log and Math.sqrt (V8's own fdlibm-derived
 * implementations, the same on every platform), so draws are reproducible everywhere.
 */

const LAYERS = 128;
/** Right edge of the base layer (the tail starts there) and the common layer area, for 128 layers. */
const R = 3.442619855899;
const AREA = 9.91256303526217e-3;
const TWO_POW_24 = 16777216;
const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

const density = (x: number): number => Math.exp(-0.5 * x * x);

/**
 * edges[i]: the right edge x_i of layer i (edges[0] is the base layer's width AREA / f(R), wider
 * than R because the base also carries the tail's area); heights[i] = f(x_i) for the wedges of
 * layers 1-127 (the base has none); acceptance[i]: positions (24-bit) below it are under the
 * curve for sure.
 */
const edges = new Float64Array(LAYERS);
const heights = new Float64Array(LAYERS + 1);
const acceptance = new Int32Array(LAYERS);
const scales = new Float64Array(LAYERS);
{
  const baseWidth = AREA / density(R);
  edges[0] = baseWidth;
  edges[1] = R;
  heights[1] = density(R);
  for (let i = 2; i < LAYERS; i++) {
    // Equal areas: x_i * (f(x_i) - f(x_{i-1})) = AREA, so f(x_i) = AREA / x_{i-1} + f(x_{i-1}).
    edges[i] = Math.sqrt(-2 * Math.log(AREA / edges[i - 1] + density(edges[i - 1])));
    heights[i] = density(edges[i]);
  }
  heights[LAYERS] = 1; // the top layer's roof is the density's peak f(0) = 1
  for (let i = 0; i < LAYERS; i++) {
    // Layer i's rectangle under the curve reaches x_{i+1} (the next layer up is narrower); for the
    // base, the part under the curve is [0, R).
    const inner = i === 0 ? R : i + 1 < LAYERS ? edges[i + 1] : 0;
    acceptance[i] = Math.floor((inner / edges[i]) * TWO_POW_24);
    scales[i] = edges[i] / TWO_POW_24;
  }
}

/** A uniform in the open interval (0, 1) from one word. */
const openUniform = (word: number): number => (word + 0.5) * TWO_POW_MINUS_32;

/**
 * The standard normal draw for `word`, taking further words from `stream` only when the word's
 * position is not surely under the curve.
 */
export function zigguratNormal(word: number, stream: PhiloxStream): number {
  for (;;) {
    const layer = word & 127;
    const position = word >>> 8;
    const x = position * scales[layer];
    if (position < acceptance[layer]) return word & 128 ? -x : x;
    const accepted = layer === 0 ? (x < R ? x : tailBeyondR(stream)) : wedge(layer, x, stream);
    if (accepted >= 0) return word & 128 ? -accepted : accepted;
    word = stream.nextUint32();
  }
}

/** Marsaglia's tail method: R + e1 / R with exponentials e1, e2, kept when 2 e2 > (e1 / R)^2. */
function tailBeyondR(stream: PhiloxStream): number {
  for (;;) {
    const beyond = -Math.log(openUniform(stream.nextUint32())) / R;
    const exponential = -Math.log(openUniform(stream.nextUint32()));
    if (exponential + exponential >= beyond * beyond) return R + beyond;
  }
}

/** x if a uniform height in the layer's wedge falls under the curve at x, else -1 (draw again). */
function wedge(layer: number, x: number, stream: PhiloxStream): number {
  // Layer i spans heights f(x_i) to f(x_{i+1}) (the peak, 1, for the top layer).
  const low = heights[layer];
  const height = low + openUniform(stream.nextUint32()) * (heights[layer + 1] - low);
  return height < density(x) ? x : -1;
}

/** Scratch of fillStandardNormals (words and unsettled indices), kept between calls and grown on demand. */
let scratchWords = new Uint32Array(0);
let scratchUnsettled = new Int32Array(0);

/**
 * Fill `out` with out.length standard normal draws from `stream`: draw i starts from word i of
 * one bulk fill of out.length words, and the rare draws that need more take them, in index
 * order, from the stream after those words. Reproducible from the stream alone. Pass the same
 * `out` for every image of a batch: fresh large arrays cost page faults comparable to the draws.
 */
export function fillStandardNormals(stream: PhiloxStream, out: Float64Array): Float64Array {
  const count = out.length;
  if (scratchWords.length < count) {
    scratchWords = new Uint32Array(count);
    scratchUnsettled = new Int32Array(count);
  }
  const words = stream.fillUint32(scratchWords.subarray(0, count));
  const unsettled = scratchUnsettled;
  // Two passes with the same result as zigguratNormal per word in index order: first the draws
  // settled by their own word (about 97%), with no call in the loop, noting the others; then
  // those in index order, the order in which they take further words.
  let unsettledCount = 0;
  for (let i = 0; i < count; i++) {
    const word = words[i];
    const layer = word & 127;
    const position = word >>> 8;
    if (position < acceptance[layer]) {
      // The sign as a factor of +1 or -1, not a branch: bit 7 is random, so a branch on it
      // would be mispredicted half the time (same value, -0 included, as a negation).
      out[i] = position * scales[layer] * (1 - ((word & 128) >>> 6));
    } else {
      unsettled[unsettledCount++] = i;
    }
  }
  for (let k = 0; k < unsettledCount; k++) {
    const i = unsettled[k];
    out[i] = zigguratNormal(words[i], stream);
  }
  return out;
}

/** Fill `out` with N(mean, sd^2) draws: mean + sd * z for fillStandardNormals' z, in order. */
export function fillNormals(stream: PhiloxStream, mean: number, sd: number, out: Float64Array): Float64Array {
  fillStandardNormals(stream, out);
  for (let i = 0; i < out.length; i++) out[i] = mean + sd * out[i];
  return out;
}

/** The tables, for tests: layer edges x_i, their heights f(x_i), the common layer area. */
export const ZIGGURAT_TABLES = { edges, heights, area: AREA, tailStart: R } as const;
