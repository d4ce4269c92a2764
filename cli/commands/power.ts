import { TempestInputError } from '../../core/errors';
import { table } from '../../core/report/markdown';
import {
  powerMcNemar,
  powerTwoProportions,
  sampleSizeMcNemar,
  sampleSizeTwoProportions,
} from '../../core/stats';

export interface PowerOptions {
  readonly accuracy: number;
  readonly minEffect: number;
  readonly alpha?: number;
  readonly power?: number;
  readonly discordance?: number;
  readonly samples?: number;
}

/**
 * Plan a benchmark before running it: how many samples detect an accuracy difference of
 * `minEffect` from `accuracy` (two independent test sets: Fleiss; the same samples for both
 * models: Connor's McNemar formula, which needs the expected share of disagreeing samples), and
 * what power a given sample count has.
 */
export function powerCommand(options: PowerOptions): number {
  const { accuracy, minEffect } = options;
  const target = accuracy - minEffect;
  if (!(target > 0 && target < 1)) {
    throw new TempestInputError(
      `--accuracy ${accuracy} minus --min-effect ${minEffect} must stay inside (0, 1)`,
      'BadArguments',
    );
  }
  const level = { alpha: options.alpha ?? 0.05 };
  const goal = { ...level, power: options.power ?? 0.8 };
  const rows: string[][] = [];
  const unpaired = sampleSizeTwoProportions(accuracy, target, goal);
  const corrected = sampleSizeTwoProportions(accuracy, target, { ...goal, continuityCorrection: true });
  const samplesPower = (value: () => number) => (options.samples === undefined ? '–' : value().toFixed(3));
  rows.push([
    'independent samples (Fleiss)',
    `${unpaired.n} per group`,
    samplesPower(() => powerTwoProportions(accuracy, target, options.samples ?? 1, level)),
  ]);
  rows.push([
    'independent samples, continuity-corrected (Fleiss)',
    `${corrected.n} per group`,
    samplesPower(() =>
      powerTwoProportions(accuracy, target, options.samples ?? 1, { ...level, continuityCorrection: true }),
    ),
  ]);
  if (options.discordance !== undefined) {
    const q = options.discordance;
    if (!(q > minEffect && q < 1)) {
      throw new TempestInputError(
        `--discordance ${q} (share of samples the two models disagree on) must exceed --min-effect ${minEffect} and be below 1`,
        'BadArguments',
      );
    }
    // Disagreements split so that their difference is the accuracy difference.
    const p10 = (q + minEffect) / 2;
    const p01 = (q - minEffect) / 2;
    rows.push([
      `same samples, paired (Connor), discordance ${q}`,
      `${sampleSizeMcNemar(p10, p01, goal).n} samples`,
      samplesPower(() => powerMcNemar(p10, p01, options.samples ?? 1, level)),
    ]);
  }
  console.log(
    [
      `# Samples needed to detect accuracy ${accuracy} vs ${target.toFixed(4)} (difference ${minEffect})`,
      '',
      `two-sided alpha ${goal.alpha}, power ${goal.power}${options.samples === undefined ? '' : `; power at ${options.samples} samples in the last column`}`,
      '',
      table(['design', 'samples needed', 'power at --samples'], rows),
      '',
    ].join('\n'),
  );
  return 0;
}
