import { readFile, writeFile } from 'node:fs/promises';
import { evaluateGate } from '../../core/gate';
import { openArtifactStore } from '../../core/store/open';
import { GatePolicyV1, parseSpecText, SpecError, formatPath } from '../../spec';
import { defaultArtifactsDir } from '../state';

/** Exit code of a failed gate (a bad policy is bad input: 2). */
const EXIT_GATE_FAILED = 1;

/** Check a finished run against a policy; exit non-zero when a check fails, and write a Markdown summary. */
export async function gateCommand(
  run: string,
  options: { policy: string; summary?: string; artifacts?: string },
): Promise<number> {
  let text: string;
  try {
    text = await readFile(options.policy, 'utf8');
  } catch (error) {
    throw new SpecError(options.policy, [
      { path: '(file)', message: `cannot read: ${(error as NodeJS.ErrnoException).code}` },
    ]);
  }
  const parsed = GatePolicyV1.safeParse(parseSpecText(text, options.policy));
  if (!parsed.success) {
    throw new SpecError(
      options.policy,
      parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  }
  const store = openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  const outcome = await evaluateGate(store, run, parsed.data, options.policy);
  console.log(outcome.markdown);
  if (options.summary) await writeFile(options.summary, outcome.markdown);
  return outcome.passed ? 0 : EXIT_GATE_FAILED;
}
