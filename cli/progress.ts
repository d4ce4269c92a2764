import { SingleBar } from 'cli-progress';
import type { BenchmarkProgress } from '../activities/types';

/**
 * Live progress: a bar with cells done/total, cache hits and ETA on a terminal; on a pipe or in
 * CI, a plain line whenever the count changes (at most every two seconds), so logs stay readable.
 */
export class ProgressDisplay {
  private bar?: SingleBar;
  private lastLine = '';
  private lastLineAt = 0;
  private readonly startedAt = Date.now();

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(progress: BenchmarkProgress): void {
    if (progress.total === 0) return;
    const status = progress.paused ? 'paused' : progress.cancelRequested ? 'cancelling' : progress.phase;
    if (this.stream.isTTY) {
      if (!this.bar) {
        this.bar = new SingleBar({
          format:
            'cells {bar} {value}/{total} | cache hits {cached} | running {running} | ETA {eta_formatted} | {status}',
          stream: this.stream,
          hideCursor: true,
          etaBuffer: 20,
        });
        this.bar.start(progress.total, progress.done, {
          cached: progress.cached,
          running: progress.running,
          status,
        });
      }
      this.bar.update(progress.done, { cached: progress.cached, running: progress.running, status });
      return;
    }
    const line = `cells ${progress.done}/${progress.total} | cache hits ${progress.cached} | running ${progress.running} | ETA ${this.eta(progress)} | ${status}`;
    const now = Date.now();
    if (line !== this.lastLine && (now - this.lastLineAt > 2000 || progress.done === progress.total)) {
      this.stream.write(`${line}\n`);
      this.lastLine = line;
      this.lastLineAt = now;
    }
  }

  /** Remaining time at the average pace so far (cache hits included, so reruns estimate low). */
  private eta(progress: BenchmarkProgress): string {
    if (progress.done === 0) return '?';
    const seconds = ((Date.now() - this.startedAt) / 1000 / progress.done) * (progress.total - progress.done);
    return seconds < 60
      ? `${Math.round(seconds)}s`
      : `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
