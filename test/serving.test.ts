import { describe, expect, it } from 'vitest';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { quantileSorted, simulateServing } from '../core/serving/simulate';
import { runTempest } from './helpers/cli';

const stream = (seed: number) => sampleStream(deriveKey({ test: 'serving', seed }), 0);

describe('serving simulation', () => {
  it('matches the Pollaczek-Khinchine mean of an M/D/1 queue', () => {
    // M/D/1 (Kleinrock 1975, Queueing Systems vol. 1, eq. 5.85 with constant service):
    // mean time in system W = D + rho * D / (2 (1 - rho)); D = 1 ms, lambda = 500/s: rho = 0.5, W = 1.5 ms.
    const stats = simulateServing(
      {
        arrivals: { kind: 'poisson', ratePerSecond: 500 },
        concurrency: 1,
        maxBatch: 1,
        serviceMs: () => 1,
        requests: 200_000,
      },
      stream(1),
    );
    expect(stats.meanMs).toBeGreaterThan(1.5 * 0.98);
    expect(stats.meanMs).toBeLessThan(1.5 * 1.02);
    expect(stats.utilization).toBeGreaterThan(0.49);
    expect(stats.utilization).toBeLessThan(0.51);
    expect(stats.throughputPerSecond).toBeGreaterThan(490);
    expect(stats.throughputPerSecond).toBeLessThan(510);
  });

  it('bursts at the same mean rate hurt the tail; batching absorbs a load that one-at-a-time cannot', () => {
    const base = { concurrency: 1, maxBatch: 1, serviceMs: () => 1, requests: 50_000 } as const;
    const poisson = simulateServing(
      { ...base, arrivals: { kind: 'poisson', ratePerSecond: 500 } },
      stream(2),
    );
    const bursty = simulateServing(
      { ...base, arrivals: { kind: 'bursty', ratePerSecond: 500, burstSize: 8 } },
      stream(2),
    );
    expect(bursty.p99Ms).toBeGreaterThan(2 * poisson.p99Ms);

    // 1,500/s against 1 ms per request overloads a single instance; batches of 8 cost 2 ms.
    const service = (batch: number) => 1 + (batch - 1) / 7;
    const overloaded = simulateServing(
      { ...base, serviceMs: service, arrivals: { kind: 'poisson', ratePerSecond: 1500 } },
      stream(3),
    );
    const batched = simulateServing(
      { ...base, maxBatch: 8, serviceMs: service, arrivals: { kind: 'poisson', ratePerSecond: 1500 } },
      stream(3),
    );
    expect(overloaded.utilization).toBeGreaterThan(0.99);
    expect(overloaded.p99Ms).toBeGreaterThan(1000);
    expect(batched.p99Ms).toBeLessThan(20);
    expect(batched.meanBatch).toBeGreaterThan(1);
  });

  it('takes quantiles as R type 7 does', () => {
    // R: quantile(c(1, 2, 3, 4, 10), c(0.5, 0.9)) gives 3 and 7.6.
    const sorted = Float64Array.from([1, 2, 3, 4, 10]);
    expect(quantileSorted(sorted, 0.5)).toBe(3);
    expect(quantileSorted(sorted, 0.9)).toBeCloseTo(7.6, 12);
  });
});

describe('tempest serving', () => {
  it('measures real inference, reports percentiles per configuration, and gates on a p99 budget', async () => {
    const args = ['serving', 'examples/models/mnist-mlp.onnx', '--requests', '5000', '--rate', '2000'];
    const generous = await runTempest([...args, '--p99-budget', '1000']);
    expect(generous.stdout).toMatch(/Measured ORT inference .*batch 1 \d+\.\d\d ms/);
    expect(generous.stdout).toMatch(
      /\| 32 \| 2 \| \d+ \| \d\.\d\d \| \d+\.\d \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \| yes \|/,
    );
    expect(generous.code).toBe(0);
    const impossible = await runTempest([...args, '--p99-budget', '0.000001']);
    expect(impossible.stdout).toContain('FAILED: no configuration keeps p99 within 0.000001 ms');
    expect(impossible.code).toBe(1);
  });
});
