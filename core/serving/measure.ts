import type { LoadedModel, ModelRunner } from '../model/runner';
import { sliceSamples, type Tensor } from '../tensor/tensor';

export interface ServiceTimes {
  /** Measured batch sizes and the median wall time of one inference at each, ms. */
  readonly measured: readonly { readonly batch: number; readonly medianMs: number; readonly p95Ms: number }[];
  /** Service time of any batch size 1..max, by linear interpolation between measured sizes. */
  readonly serviceMs: (batch: number) => number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/**
 * Wall time of real onnxruntime-node inference at each batch size, on real samples, after a
 * warm-up (the first runs of a session pay for allocation and kernel selection). Medians resist
 * the noise of a shared machine; the p95 shows how noisy it was.
 */
export async function measureServiceTimes(
  runner: ModelRunner,
  model: LoadedModel,
  samples: Tensor,
  batchSizes: readonly number[],
  repeats = 30,
): Promise<ServiceTimes> {
  const sizes = [...new Set([1, ...batchSizes])].sort((a, b) => a - b);
  const measured: { batch: number; medianMs: number; p95Ms: number }[] = [];
  for (const batch of sizes) {
    if (batch > samples.dims[0]) throw new Error(`batch size ${batch} needs at least ${batch} samples`);
    const input = sliceSamples(samples, 0, batch);
    for (let i = 0; i < 5; i++) await runner.predictBatch(model, input);
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const started = performance.now();
      await runner.predictBatch(model, input);
      times.push(performance.now() - started);
    }
    const sorted = [...times].sort((a, b) => a - b);
    measured.push({ batch, medianMs: median(times), p95Ms: sorted[Math.floor(0.95 * (sorted.length - 1))] });
  }
  const serviceMs = (batch: number): number => {
    const upper = measured.findIndex((point) => point.batch >= batch);
    if (upper === -1) {
      const last = measured[measured.length - 1];
      return (last.medianMs * batch) / last.batch;
    }
    if (measured[upper].batch === batch || upper === 0) return measured[upper].medianMs;
    const [a, b] = [measured[upper - 1], measured[upper]];
    return a.medianMs + ((b.medianMs - a.medianMs) * (batch - a.batch)) / (b.batch - a.batch);
  };
  return { measured, serviceMs };
}
