import { writeFile } from 'node:fs/promises';
import { loadRunSelection } from '../../core/compare';
import type { Comparison } from '../../core/evaluation';
import { metaAnalyzeRuns } from '../../core/meta';
import { metaTable } from '../../core/report/markdown';

export interface MetaOptions {
  readonly level?: number;
  readonly kind?: Comparison['kind'];
  readonly markdown?: string;
  readonly json?: string;
}

/**
 * Pool each comparison the runs have in common (a model's drop under a corruption, or one model
 * against another) with a DerSimonian-Laird random-effects model: one effect across runs.
 */
export async function metaCommand(runs: string[], options: MetaOptions): Promise<number> {
  const selections = await Promise.all(runs.map((run) => loadRunSelection(run)));
  const effects = metaAnalyzeRuns(selections, { level: options.level, kind: options.kind });
  const text = [
    `# Random-effects meta-analysis of ${selections.length} runs`,
    '',
    `${effects.length} effects pooled (DerSimonian-Laird); difference = B - A in accuracy points; ` +
      'tau^2 is the between-run variance, I^2 the share of variability due to it, Q p the test of homogeneity.',
    '',
    metaTable(effects),
    '',
  ].join('\n');
  console.log(text);
  if (options.markdown) await writeFile(options.markdown, text);
  if (options.json) await writeFile(options.json, `${JSON.stringify(effects, null, 2)}\n`);
  return 0;
}
