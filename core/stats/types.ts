/** Shapes shared by the statistics modules, so reports can print any of their results. */

export interface ConfidenceInterval {
  /** The point estimate the interval is built around. */
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  /** Two-sided confidence level, e.g. 0.95. */
  readonly level: number;
  /** Name of the published method that produced the limits. */
  readonly method: string;
}

/** Cells of a 2x2 table [[a, b], [c, d]]. */
export interface TwoByTwoCounts {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}
