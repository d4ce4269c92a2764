import { loadMnist } from '../../core/data/mnist';
import { TempestInputError } from '../../core/errors';
import { ModelRunner } from '../../core/model/runner';
import { adaptModelFile, readModelFile } from '../model-file';
import { measureServingLatency, type LatencySettings } from '../../core/serving/latency';
import { latencyMarkdown } from '../../core/serving/report';

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
  const adapted = adaptModelFile(modelPath, await readModelFile(modelPath));
  const runner = new ModelRunner({ intraOpThreads: options.threads, interOpThreads: 1 });
  try {
    const model = await runner.load(adapted.sha256, async () => adapted.bytes, modelPath);
    const samples = loadMnist('test', Math.max(...batchSizes)).inputs;
    const settings: LatencySettings = {
      batchSizes,
      concurrency: concurrencies,
      arrivals:
        options.arrivals === 'poisson'
          ? { kind: 'poisson', ratePerSecond: options.rate }
          : { kind: 'bursty', ratePerSecond: options.rate, burstSize: options.burst },
      requests: options.requests,
      seed: options.seed,
      ...(options.p99Budget !== undefined && { budget: { p99Ms: options.p99Budget } }),
    };
    // The same measurement, simulation, table and budget check as a spec's `serving:` section.
    const latency = await measureServingLatency(runner, model, samples, settings);
    console.log(
      [`# Serving conditions: ${modelPath}`, '', ...latencyMarkdown(latency, settings, options.threads)].join(
        '\n',
      ),
    );
    if (latency.verdict && !latency.verdict.passed) {
      console.log(`FAILED: ${latency.verdict.failure}`);
      return 1;
    }
    return 0;
  } finally {
    await runner.close();
  }
}
