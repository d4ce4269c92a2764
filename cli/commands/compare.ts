import { writeFile } from 'node:fs/promises';
import { compareRuns, loadRunSelection } from '../../core/compare';
import { bootstrapTable, comparisonsTable } from '../../core/report/markdown';
import { openArtifactStore } from '../../core/store/open';
import { defaultArtifactsDir } from '../state';

export interface CompareOptions {
  readonly artifacts?: string;
  readonly level?: number;
  readonly alpha?: number;
  readonly correction?: 'holm' | 'bh';
  readonly minEffect?: number;
  readonly markdown?: string;
  readonly bootstrap?: number | false;
}

/**
 * Paired, corrected comparisons of two runs (or two models: RUN:MODEL), per condition and seed,
 * on the same samples, reading the cells' scores from the artifact store.
 */
export async function compareCommand(runA: string, runB: string, options: CompareOptions): Promise<number> {
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  const [a, b] = await Promise.all([loadRunSelection(runA), loadRunSelection(runB)]);
  const settings = {
    ...(options.level !== undefined && { level: options.level }),
    ...(options.alpha !== undefined && { alpha: options.alpha }),
    ...(options.correction !== undefined && { correction: options.correction }),
    ...(options.minEffect !== undefined && { minimumEffect: options.minEffect }),
    ...(typeof options.bootstrap === 'number' && { bootstrapResamples: options.bootstrap }),
  };
  const comparisons = await compareRuns(store, a, b, settings, { bootstrap: options.bootstrap !== false });
  const bootstrapped = comparisons.filter((comparison) => comparison.bootstrap !== null);
  const level = options.level ?? 0.95;
  const significant = comparisons.filter((comparison) => comparison.significant).length;
  const text = [
    `# ${b.label} vs ${a.label}`,
    '',
    `${comparisons.length} paired comparisons on ${comparisons[0]?.samples ?? 0} samples each; ` +
      `difference = B - A in accuracy points; exact McNemar p-values ${options.correction === 'bh' ? 'Benjamini-Hochberg' : 'Holm'}-adjusted; ` +
      `${significant} significant at alpha ${options.alpha ?? 0.05}.`,
    '',
    comparisonsTable(comparisons, level),
    '',
    ...(bootstrapped.length > 0
      ? [
          `Paired bootstrap (seeded BCa, ${bootstrapped[0].bootstrap?.resamples} resamples of the same samples for both sides):`,
          '',
          bootstrapTable(bootstrapped, level),
          '',
        ]
      : []),
  ].join('\n');
  console.log(text);
  if (options.markdown) await writeFile(options.markdown, text);
  return 0;
}
