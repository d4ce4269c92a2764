import type { PhiloxStream } from '../rng/philox';

/**
 * A discrete-event simulation of a model server: requests arrive (Poisson, or in bursts), wait in
 * one FIFO queue, and `concurrency` model instances each take up to `maxBatch` waiting requests
 * whenever they are free (dynamic batching without a batching delay), serving the batch in the
 * time measured for that batch size. It answers "what latency would users see at this load with
 * this batching?" from real service times, without a load generator.
 */
export type ArrivalProcess =
  | { readonly kind: 'poisson'; readonly ratePerSecond: number }
  /** Bursts arrive as a Poisson process; each brings `burstSize` requests at once (same mean rate). */
  | { readonly kind: 'bursty'; readonly ratePerSecond: number; readonly burstSize: number };

export interface ServingConfig {
  readonly arrivals: ArrivalProcess;
  readonly concurrency: number;
  readonly maxBatch: number;
  /** Service time in ms of a batch of b requests, b = 1..maxBatch. */
  readonly serviceMs: (batch: number) => number;
  readonly requests: number;
}

export interface ServingStats {
  readonly requests: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Completed requests per second of simulated time. */
  readonly throughputPerSecond: number;
  /** Share of time the instances were busy. */
  readonly utilization: number;
  readonly meanBatch: number;
}

/** Exponential draw by inversion (Knuth, TAOCP vol. 2, 3.4.1.D). */
function exponential(stream: PhiloxStream, rate: number): number {
  return -Math.log(stream.uniformOpen()) / rate;
}

export function arrivalTimesMs(process: ArrivalProcess, count: number, stream: PhiloxStream): Float64Array {
  const times = new Float64Array(count);
  let now = 0;
  if (process.kind === 'poisson') {
    for (let i = 0; i < count; i++) {
      now += exponential(stream, process.ratePerSecond / 1000);
      times[i] = now;
    }
    return times;
  }
  const burstRate = process.ratePerSecond / process.burstSize / 1000;
  for (let i = 0; i < count; i += process.burstSize) {
    now += exponential(stream, burstRate);
    for (let j = i; j < Math.min(count, i + process.burstSize); j++) times[j] = now;
  }
  return times;
}

/** Quantile of sorted values by linear interpolation (Hyndman & Fan 1996, type 7, R's default). */
export function quantileSorted(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * p;
  const low = Math.floor(position);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

export function simulateServing(config: ServingConfig, stream: PhiloxStream): ServingStats {
  const arrivals = arrivalTimesMs(config.arrivals, config.requests, stream);
  const freeAt = new Float64Array(config.concurrency);
  const latencies = new Float64Array(config.requests);
  let next = 0;
  let busy = 0;
  let batches = 0;
  let end = 0;
  while (next < config.requests) {
    // The instance that frees up first takes the next batch.
    let instance = 0;
    for (let k = 1; k < config.concurrency; k++) if (freeAt[k] < freeAt[instance]) instance = k;
    const start = Math.max(freeAt[instance], arrivals[next]);
    let size = 0;
    while (next + size < config.requests && size < config.maxBatch && arrivals[next + size] <= start) size++;
    const service = config.serviceMs(size);
    const done = start + service;
    for (let i = next; i < next + size; i++) latencies[i] = done - arrivals[i];
    next += size;
    freeAt[instance] = done;
    busy += service;
    batches++;
    end = Math.max(end, done);
  }
  const sorted = Float64Array.from(latencies).sort();
  const span = end - arrivals[0];
  return {
    requests: config.requests,
    meanMs: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    p50Ms: quantileSorted(sorted, 0.5),
    p95Ms: quantileSorted(sorted, 0.95),
    p99Ms: quantileSorted(sorted, 0.99),
    maxMs: sorted[sorted.length - 1],
    throughputPerSecond: span > 0 ? (config.requests / span) * 1000 : Number.NaN,
    utilization: span > 0 ? busy / (span * config.concurrency) : Number.NaN,
    meanBatch: config.requests / batches,
  };
}
