/** Scales map data to drawing coordinates; ticks pick round values for axes. */

export interface LinearScale {
  (value: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

/** Maps [domain] linearly onto [range]; a zero-width domain maps everything to the range's middle. */
export function linearScale(
  domain: readonly [number, number],
  range: readonly [number, number],
): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const scale = (value: number): number =>
    span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0);
  return Object.assign(scale, { domain: [d0, d1] as const, range: [r0, r1] as const });
}

/** Round tick values (steps of 1, 2 or 5 times a power of ten) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const [low, high] = min < max ? [min, max] : [max, min];
  const rough = (high - low) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough) ?? rough;
  const ticks: number[] = [];
  // Integer multiples of the step, so that 0.1 + 0.2 style sums cannot creep in.
  for (let index = Math.ceil(low / step - 1e-9); index * step <= high + step * 1e-9; index += 1) {
    ticks.push(Number((index * step).toPrecision(12)));
  }
  return ticks;
}

export interface BandScale {
  /** Left edge of the band of `key`. */
  (key: string): number;
  readonly bandwidth: number;
  readonly keys: readonly string[];
}

/** Equal bands for categories across [range], with `padding` (a fraction of each step) between them. */
export function bandScale(
  keys: readonly string[],
  range: readonly [number, number],
  padding = 0.2,
): BandScale {
  const [r0, r1] = range;
  const step = keys.length === 0 ? 0 : (r1 - r0) / keys.length;
  const bandwidth = step * (1 - padding);
  const position = (key: string): number => {
    const index = keys.indexOf(key);
    if (index < 0) throw new Error(`"${key}" is not one of the scale's categories`);
    return r0 + index * step + (step - bandwidth) / 2;
  };
  return Object.assign(position, { bandwidth, keys: [...keys] });
}

/**
 * The lower end of an accuracy axis: 0 unless every value is high, then a round value below the
 * smallest (so that a 95-99% range is not squashed into the top of the plot).
 */
export function accuracyAxisFloor(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return 0;
  const smallest = Math.min(...finite);
  return smallest >= 0.5 ? Math.max(0, Math.floor(smallest * 10 - 1e-9) / 10) : 0;
}
