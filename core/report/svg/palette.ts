/**
 * Colours. Series use the Okabe-Ito palette (distinguishable with the common colour-vision
 * deficiencies) and, as a second cue that survives greyscale printing, a dash pattern.
 */

const SERIES_COLOURS = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
];
const SERIES_DASHES = [undefined, '6 3', '2 3', '8 3 2 3', '4 4', '1 2'] as const;

export function seriesColour(index: number): string {
  return SERIES_COLOURS[index % SERIES_COLOURS.length];
}

export function seriesDash(index: number): string | undefined {
  return SERIES_DASHES[index % SERIES_DASHES.length];
}

/** Stops of a light-to-dark sequential ramp (blue-green), dark meaning "high". */
const RAMP: readonly (readonly [number, number, number])[] = [
  [247, 252, 240],
  [204, 235, 197],
  [123, 204, 196],
  [43, 140, 190],
  [8, 64, 129],
];

const hex = (value: number) => Math.round(value).toString(16).padStart(2, '0');

/** The ramp's colour at t in [0, 1] (clamped), interpolated linearly between its stops. */
export function rampColour(t: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const position = clamped * (RAMP.length - 1);
  const index = Math.min(RAMP.length - 2, Math.floor(position));
  const local = position - index;
  const [a, b] = [RAMP[index], RAMP[index + 1]];
  return `#${[0, 1, 2].map((channel) => hex(a[channel] + (b[channel] - a[channel]) * local)).join('')}`;
}

/** Text colour readable on the ramp's colour at t: white on the dark half. */
export function rampTextColour(t: number): string {
  return t > 0.55 ? '#ffffff' : '#1a1a1a';
}
