import type { BenchmarkOutcome } from '../activities/types';
import { TempestInputError } from '../core/errors';
import type { BenchmarkResults } from '../core/results';
import { getJson } from '../core/store/json';
import type { ArtifactStore } from '../core/store/types';

/**
 * The full results (results.json's content) of a finished run, read from the artifact store the
 * workers wrote to. A workflow's outcome only carries the summary and content addresses.
 */
export async function readBenchmarkResults(
  store: ArtifactStore,
  outcome: BenchmarkOutcome,
): Promise<BenchmarkResults> {
  if (!outcome.results) {
    throw new TempestInputError(
      `the run ended ${outcome.status} before its results were aggregated; run the spec again to finish it`,
      'NoResults',
    );
  }
  return getJson<BenchmarkResults>(store, outcome.results.sha256);
}
