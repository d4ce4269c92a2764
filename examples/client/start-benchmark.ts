/**
 * Start a Tempest benchmark with the plain Temporal client, follow it, and print its results.
 * Workers (`tempest worker --address HOST:PORT`) must poll the task queue; they run the cells.
 *
 *   npx tsx examples/client/start-benchmark.ts SPEC [--address HOST:PORT] [--namespace NS] [--task-queue Q]
 *     [--tls] [--tls-cert FILE --tls-key FILE] [--tls-ca FILE] [--tls-server-name NAME] [--api-key-file FILE]
 *
 * Address, namespace, TLS and API key also come from the `temporal` CLI's variables
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, TEMPORAL_API_KEY), as for `tempest`.
 *
 * Everything Temporal-specific is the workflow type name, the task queue and the one argument,
 * a BenchmarkInput: any Temporal SDK could start the run the same way.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
// Outside this repository, import these from 'tempest-bench'.
import {
  BENCHMARK_WORKFLOW_TYPE,
  DEFAULT_TASK_QUEUE,
  readBenchmarkInput,
  resolveTemporalTarget,
  type BenchmarkInput,
  type BenchmarkOutcome,
  type BenchmarkProgress,
} from '../../index';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      address: { type: 'string' },
      namespace: { type: 'string' },
      'task-queue': { type: 'string', default: DEFAULT_TASK_QUEUE },
      tls: { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-server-name': { type: 'string' },
      'api-key-file': { type: 'string' },
    },
  });
  const [specPath] = positionals;
  if (!specPath) throw new Error('usage: start-benchmark.ts SPEC [--address HOST:PORT] [--task-queue Q]');

  // Validated the same way as `tempest run`: a bad spec fails here, before anything starts. Model
  // and data paths become absolute, so the workers must see the same files (or a shared mount).
  const input = await readBenchmarkInput(specPath);

  // Flags, else the environment; every certificate and key file is read and checked here.
  const target = resolveTemporalTarget(
    {
      address: values.address,
      namespace: values.namespace,
      tls: values.tls,
      tlsCert: values['tls-cert'],
      tlsKey: values['tls-key'],
      tlsCa: values['tls-ca'],
      tlsServerName: values['tls-server-name'],
      apiKeyFile: values['api-key-file'],
    },
    process.env,
    { address: '127.0.0.1:7233' },
  );
  const connection = await Connection.connect({ address: target.address, ...target.connection });
  try {
    const client = new Client({ connection, namespace: target.namespace });
    // Started by name: the type parameter only tells TypeScript the workflow's signature.
    const handle = await client.workflow.start<(input: BenchmarkInput) => Promise<BenchmarkOutcome>>(
      BENCHMARK_WORKFLOW_TYPE,
      {
        taskQueue: values['task-queue'],
        // Any id works; `tempest run` derives one from the spec so a rerun attaches to a live run.
        workflowId: `example-${input.spec.name}-${randomUUID()}`,
        args: [input],
      },
    );
    console.log(`started ${handle.workflowId}`);

    // The "progress" query answers once a worker holds the workflow; until then it fails, which is fine.
    const poll = setInterval(() => {
      handle
        .query<BenchmarkProgress>('progress')
        .then((p) => console.log(`progress: ${p.phase} ${p.done}/${p.total} cells (${p.cached} cached)`))
        .catch(() => undefined);
    }, 1000);
    let outcome: BenchmarkOutcome;
    try {
      outcome = await handle.result();
    } finally {
      clearInterval(poll);
    }

    for (const row of outcome.summary) {
      console.log(`${row.model}  ${row.condition}  accuracy ${(row.accuracy * 100).toFixed(2)}%`);
    }
    console.log(
      `${outcome.status}: ${outcome.cells.done}/${outcome.cells.total} cells; results ${outcome.results?.sha256 ?? '-'}`,
    );
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  console.error(`start-benchmark: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
