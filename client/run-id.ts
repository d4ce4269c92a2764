import { hashOf } from '../core/hash';
import type { BenchmarkInput } from '../activities/types';

/**
 * The workflow id of a benchmark: the spec's name plus a hash of what it means and where its
 * files are. Starting the same benchmark while it runs attaches to the running workflow (e.g.
 * after the CLI crashed) instead of computing it twice; once finished, a new run reuses its cells.
 */
export function benchmarkWorkflowId(input: BenchmarkInput, options: { withName?: boolean } = {}): string {
  const hash = hashOf({ spec: input.spec, baseDir: input.baseDir }).slice(0, 12);
  // Workflow ids are stored and shown in clear even when payloads are encrypted, so encrypted runs
  // leave the spec's name out of them.
  return options.withName === false ? `tempest-${hash}` : `tempest-${input.spec.name}-${hash}`;
}
