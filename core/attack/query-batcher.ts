import type { BudgetedOracle } from './oracle';
import { stackRows } from './batch';

interface PendingRequest {
  readonly sample: number;
  readonly rows: readonly Float32Array[];
  readonly resolve: (logits: Float32Array[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Lets attacks with intricate per-sample control flow (HopSkipJump's binary and geometric
 * searches) be written as one sequential async routine per sample while their queries still
 * reach the model in few batched calls: when every running routine is waiting for an answer,
 * all their rows go to the oracle in one call. A routine only ever sees its own answers, so a
 * sample's result does not depend on the other samples in the batch.
 */
export class QueryBatcher {
  private pending: PendingRequest[] = [];

  constructor(
    private readonly oracle: BudgetedOracle,
    private running: number,
  ) {}

  /** Logits of each row (charged to `sample`), once every other running routine is waiting too. */
  logits(sample: number, rows: readonly Float32Array[]): Promise<Float32Array[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ sample, rows, resolve, reject });
      this.flushIfAllWaiting();
    });
  }

  /** A routine ends: the others no longer wait for it. */
  finished(): void {
    this.running--;
    this.flushIfAllWaiting();
  }

  /** Run one routine per sample to completion, batching their queries. */
  static async runAll<T>(
    oracle: BudgetedOracle,
    samples: readonly number[],
    routine: (sample: number, batcher: QueryBatcher) => Promise<T>,
  ): Promise<T[]> {
    const batcher = new QueryBatcher(oracle, samples.length);
    return Promise.all(
      samples.map(async (sample) => {
        try {
          return await routine(sample, batcher);
        } finally {
          batcher.finished();
        }
      }),
    );
  }

  private flushIfAllWaiting(): void {
    if (this.running === 0 || this.pending.length < this.running) return;
    const requests = this.pending.sort((a, b) => a.sample - b.sample);
    this.pending = [];
    const rows = requests.flatMap((request) => request.rows);
    const samples = requests.flatMap((request) => request.rows.map(() => request.sample));
    const classes = this.oracle.classes;
    this.oracle.logits(stackRows(rows, this.oracle.sampleDims), samples).then(
      (logits) => {
        let row = 0;
        for (const request of requests) {
          request.resolve(request.rows.map(() => logits.slice(row * classes, ++row * classes)));
        }
      },
      (error: unknown) => requests.forEach((request) => request.reject(error)),
    );
  }
}
