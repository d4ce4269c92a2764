import { readFile } from 'node:fs/promises';
import { loadMnist } from '../../core/data/mnist';
import { TempestInputError } from '../../core/errors';
import { sha256Hex } from '../../core/hash';
import { ModelRunner } from '../../core/model/runner';
import { table } from '../../core/report/markdown';
import { deriveKey, sampleStream } from '../../core/rng/keyed';
import { measureServiceTimes } from '../../core/serving/measure';
import { simulateServing, type ArrivalProcess } from '../../core/serving/simulate';

export interface ServingOptions {
  readonly rate: number;
  readonly batchSizes: string;
  readonly concurrency: string;
  readonly arrivals: 'poisson' | 'bursty';
  readonly burst: number;
  readonly requests: number;
  readonly p99Budget?: number;
  readonly seed: number;
  readonly threads: number;
}

const list = (text: string, name: string): number[] => {
  const values = text.split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < 1)) {
    throw new TempestInputError(
      `--${name} must be positive integers separated by commas, got "${text}"`,
      'BadArguments',
    );
  }
  return values;
};

/**
 * Deployment realism: measure the model's real inference time per batch size, then simulate the
 * given arrival process against every (max batch, concurrency) configuration and report latency
 * percentiles, throughput and utilization; with --p99-budget, exit 1 when no configuration keeps
 * p99 within the budget (a latency gate for CI).
 */
export async function servingCommand(modelPath: string, options: ServingOptions): Promise<number> {
  const batchSizes = list(options.batchSizes, 'batch-sizes');
  const concurrencies = list(options.concurrency, 'concurrency');
  if (!(options.rate > 0))
    throw new TempestInputError('--rate must be a positive number of requests per second', 'BadArguments');
  const bytes = await readFile(modelPath);
  const runner = new ModelRunner({ intraOpThreads: options.threads, interOpThreads: 1 });
  try {
    const model = await runner.load(sha256Hex(bytes), async () => bytes, modelPath);
    const samples = loadMnist('test', Math.max(...batchSizes)).inputs;
    const times = await measureServiceTimes(runner, model, samples, batchSizes);
    const arrivals: ArrivalProcess =
      options.arrivals === 'poisson'
        ? { kind: 'poisson', ratePerSecond: options.rate }
        : { kind: 'bursty', ratePerSecond: options.rate, burstSize: options.burst };
    const rows: string[][] = [];
    let best: { label: string; p99: number } | undefined;
    for (const maxBatch of batchSizes) {
      for (const concurrency of concurrencies) {
        // Every configuration sees the same arrivals: the comparison is paired.
        const stream = sampleStream(deriveKey({ serving: options.seed, arrivals }), 0);
        const stats = simulateServing(
          { arrivals, concurrency, maxBatch, serviceMs: times.serviceMs, requests: options.requests },
          stream,
        );
        const capacity = (concurrency * maxBatch * 1000) / times.serviceMs(maxBatch);
        const label = `batch <= ${maxBatch}, ${concurrency} instance(s)`;
        const within =
          options.p99Budget === undefined ? '–' : stats.p99Ms <= options.p99Budget ? 'yes' : '**no**';
        if (!best || stats.p99Ms < best.p99) best = { label, p99: stats.p99Ms };
        rows.push([
          String(maxBatch),
          String(concurrency),
          capacity.toFixed(0),
          stats.utilization.toFixed(2),
          stats.meanBatch.toFixed(1),
          stats.p50Ms.toFixed(2),
          stats.p95Ms.toFixed(2),
          stats.p99Ms.toFixed(2),
          stats.throughputPerSecond.toFixed(0),
          within,
        ]);
      }
    }
    console.log(
      [
        `# Serving conditions: ${modelPath}`,
        '',
        `Measured ORT inference (median of 30 after warm-up, ${options.threads} thread(s)): ` +
          times.measured
            .map(
              (point) =>
                `batch ${point.batch} ${point.medianMs.toFixed(2)} ms (p95 ${point.p95Ms.toFixed(2)})`,
            )
            .join(', '),
        '',
        `${options.requests} requests, ${options.arrivals} arrivals at ${options.rate}/s${options.arrivals === 'bursty' ? ` in bursts of ${options.burst}` : ''}, dynamic batching, seed ${options.seed}.`,
        '',
        table(
          [
            'max batch',
            'instances',
            'capacity req/s',
            'utilization',
            'mean batch',
            'p50 ms',
            'p95 ms',
            'p99 ms',
            'throughput req/s',
            `p99 <= ${options.p99Budget ?? '–'} ms`,
          ],
          rows,
        ),
        '',
        best ? `lowest p99: ${best.label} (${best.p99.toFixed(2)} ms)` : '',
      ].join('\n'),
    );
    if (options.p99Budget !== undefined && best && best.p99 > options.p99Budget) {
      console.log(`FAILED: no configuration keeps p99 within ${options.p99Budget} ms`);
      return 1;
    }
    return 0;
  } finally {
    await runner.close();
  }
}
