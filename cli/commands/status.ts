import type { BenchmarkProgress } from '../../activities/types';
import { progressQuery } from '../../workflows/benchmark';
import { explainEncryptedPayloads, payloadEncryption, type PayloadKeyOptions } from '../payload-keys';
import { resolveTemporalTarget, type TemporalConnectionFlags } from '../../client/temporal-connection';
import { openTemporalSession } from '../temporal-session';

const QUERY_TIMEOUT_MS = 5000;

async function queryWithTimeout(
  run: () => Promise<BenchmarkProgress>,
): Promise<BenchmarkProgress | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>(
    (resolve) => (timer = setTimeout(() => resolve(undefined), QUERY_TIMEOUT_MS)),
  );
  try {
    return await Promise.race([run().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Status of one run (workflow id), or a list of recent benchmark runs when no id is given. */
export async function statusCommand(
  runId: string | undefined,
  options: TemporalConnectionFlags & PayloadKeyOptions,
): Promise<number> {
  const { dataConverter } = await payloadEncryption(options);
  const session = await openTemporalSession({ ...resolveTemporalTarget(options), dataConverter });
  try {
    if (!runId) {
      let count = 0;
      for await (const execution of session.client.workflow.list({
        query: "WorkflowType = 'benchmarkWorkflow'",
      })) {
        console.log(
          `${execution.workflowId}  ${execution.status.name}  started ${execution.startTime.toISOString()}`,
        );
        if (++count >= 50) break;
      }
      if (count === 0) console.log('no benchmark runs on this server');
      return 0;
    }
    const handle = session.client.workflow.getHandle(runId);
    const description = await handle.describe();
    console.log(`run ${description.workflowId} (run id ${description.runId})`);
    console.log(`status: ${description.status.name}`);
    console.log(`started: ${description.startTime.toISOString()}`);
    if (description.closeTime) console.log(`closed: ${description.closeTime.toISOString()}`);
    if (description.status.name === 'RUNNING') {
      const progress = await queryWithTimeout(() => handle.query(progressQuery));
      console.log(
        progress
          ? `progress: ${progress.phase}, ${progress.done}/${progress.total} cells, ${progress.cached} cache hits, ${progress.running} running${progress.paused ? ', paused' : ''}`
          : 'progress: unavailable (no worker answered; start one with `tempest worker` or rerun `tempest run`)',
      );
    } else if (description.status.name === 'COMPLETED') {
      const outcome = (await handle.result().catch((error: unknown) => {
        throw explainEncryptedPayloads(error);
      })) as {
        status: string;
        results?: { sha256: string };
        cells: { total: number; cached: number };
      };
      console.log(
        `outcome: ${outcome.status}, ${outcome.cells.total} cells (${outcome.cells.cached} cache hits)`,
      );
      if (outcome.results) console.log(`results.json: sha256 ${outcome.results.sha256}`);
    }
    return 0;
  } finally {
    await session.close();
  }
}
