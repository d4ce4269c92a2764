/**
 * Corruption throughput: images per second for every built-in image corruption, severities 1-5,
 * on 224x224 RGB images (and optionally 28x28 gray MNIST digits), against the reference Python
 * package imagecorruptions 1.1.2 on the same uint8 images. The reference runs as one long-lived
 * process (bench/imagecorruptions_reference.py) that the bench asks for one corruption at a time,
 * so the two sides alternate per corruption (Tempest then reference, then the other way round in
 * the next repeat) and meet the same machine load; both run on one thread. Each repeat gives a
 * ratio reference seconds / Tempest seconds per corruption (> 1: Tempest is faster), on wall-clock
 * time and on process CPU time (the latter is steadier when other work shares the cores); the
 * table shows the medians over repeats and their spread. Target: ratio >= 1 for every corruption.
 *
 *   npm run build && node dist/bench/corruptions.js [--rgb N] [--gray N] [--repeats R] [--only a,b] [--skip a,b]
 * The reference: bench/setup-imagecorruptions.sh (or TEMPEST_IMAGECORRUPTIONS_PYTHON=/path/to/python).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadMnist } from '../core/data/mnist';
import { encodeNpy } from '../core/data/npy';
import { packageRoot } from '../core/package-root';
import type { PerturbationContext, PerturbationModule } from '../core/perturb/module';
import { BUILTIN_PERTURBATIONS } from '../core/perturb/registry';
import { deriveKey, sampleStream } from '../core/rng/keyed';
import { makeTensor, type Tensor } from '../core/tensor/tensor';

function numericArg(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

/** 224x224 RGB images with natural-image-like structure: smooth shading, edges, texture and a disc. */
function rgbImages(count: number): Uint8Array {
  const size = 224;
  const out = new Uint8Array(count * size * size * 3);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const disc = (x - 80 - 5 * n) ** 2 + (y - 120) ** 2 < 50 ** 2;
        const texture = 0.5 + 0.5 * Math.sin(x / 3 + n) * Math.cos(y / 5);
        const rgb = disc
          ? [0.9, 0.3 + 0.2 * texture, 0.2]
          : [0.2 + 0.6 * (x / size), 0.3 + 0.4 * texture, 0.7 - 0.5 * (y / size)];
        for (let c = 0; c < 3; c++) out[((n * size + y) * size + x) * 3 + c] = Math.round(rgb[c] * 255);
      }
    }
  }
  return out;
}

/** uint8 HWC images as the float NCHW [0, 1] tensor Tempest's modules take. */
function toTensor(bytes: Uint8Array, count: number, height: number, width: number, channels: number): Tensor {
  const tensor = makeTensor([count, channels, height, width]);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < channels; c++) {
          tensor.data[((n * channels + c) * height + y) * width + x] =
            bytes[((n * height + y) * width + x) * channels + c] / 255;
        }
      }
    }
  }
  return tensor;
}

function context(): PerturbationContext {
  const key = deriveKey({ bench: 'corruptions' });
  return {
    streamFor: (index) => sampleStream(key, index),
    firstSampleIndex: 0,
    profile: () => {
      throw new Error('images have no tabular profile');
    },
  };
}

/** Wall-clock and CPU seconds for all images at severities 1-5. */
interface Timing {
  seconds: number;
  cpuSeconds: number;
}

function timeTempest(module: PerturbationModule, images: Tensor): Timing {
  const started = performance.now();
  const startedCpu = process.cpuUsage();
  for (let severity = 1; severity <= 5; severity++)
    module.apply(images, module.severityParams!(severity), context());
  const cpu = process.cpuUsage(startedCpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

type ImageSet = 'gray' | 'rgb';

/** The long-lived reference process: one request line in, one JSON answer line out. */
class Reference {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly versions: Record<string, string>,
  ) {}

  static async start(python: string, grayPath: string, rgbPath: string): Promise<Reference> {
    const script = join(packageRoot(), 'bench', 'imagecorruptions_reference.py');
    const child = spawn(python, [script, grayPath, rgbPath], {
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new Error(`the reference (${python} ${script}) exited before it was ready`);
    const ready = JSON.parse(first.value) as { versions: Record<string, string> };
    return new Reference(child, lines, ready.versions);
  }

  async time(name: string, set: ImageSet): Promise<Timing | string> {
    this.child.stdin.write(`${name} ${set}\n`);
    const line = await this.lines.next();
    if (line.done) throw new Error('the reference exited mid-run');
    const answer = JSON.parse(line.value) as { seconds?: number; cpuSeconds?: number; error?: string };
    if (answer.seconds === undefined || answer.cpuSeconds === undefined) return `error: ${answer.error}`;
    return { seconds: answer.seconds, cpuSeconds: answer.cpuSeconds };
  }

  close(): void {
    this.child.stdin.end('\n');
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

interface Measurement {
  tempest: Timing[];
  reference: (Timing | string)[];
}

async function main(): Promise<void> {
  const grayCount = numericArg('--gray', 0);
  const rgbCount = numericArg('--rgb', 10);
  const repeats = numericArg('--repeats', 3);
  const only = process.argv.includes('--only')
    ? process.argv[process.argv.indexOf('--only') + 1].split(',')
    : undefined;
  const skip = process.argv.includes('--skip')
    ? process.argv[process.argv.indexOf('--skip') + 1].split(',')
    : [];
  const modules = BUILTIN_PERTURBATIONS.filter(
    (candidate) =>
      candidate.inputKind === 'image' &&
      (!only || only.includes(candidate.name)) &&
      !skip.includes(candidate.name),
  );
  const gray = Uint8Array.from(grayCount > 0 ? loadMnist('test', grayCount).inputs.data : [], (value) =>
    Math.round(value * 255),
  );
  const rgb = rgbImages(rgbCount);
  const sets: { set: ImageSet; count: number; tensor: Tensor }[] = [
    { set: 'rgb' as const, count: rgbCount, tensor: toTensor(rgb, rgbCount, 224, 224, 3) },
    { set: 'gray' as const, count: grayCount, tensor: toTensor(gray, grayCount, 28, 28, 1) },
  ].filter((entry) => entry.count > 0);

  const python =
    process.env.TEMPEST_IMAGECORRUPTIONS_PYTHON ??
    join(packageRoot(), '.tempest', 'bench-venv', 'bin', 'python');
  const dir = await mkdtemp(join(tmpdir(), 'tempest-corruption-bench-'));
  let reference: Reference | undefined;
  try {
    if (existsSync(python)) {
      await writeFile(join(dir, 'gray.npy'), encodeNpy('|u1', [grayCount, 28, 28], gray));
      await writeFile(join(dir, 'rgb.npy'), encodeNpy('|u1', [rgbCount, 224, 224, 3], rgb));
      reference = await Reference.start(python, join(dir, 'gray.npy'), join(dir, 'rgb.npy'));
    }
    console.log(
      `corruption throughput, images/s over severities 1-5: ${sets.map((s) => `${s.count} ${s.set === 'rgb' ? 'RGB 224x224' : 'gray 28x28'}`).join(', ')}; ` +
        `${repeats} repeats, Tempest and reference alternating per corruption, one thread each`,
    );
    console.log(
      reference
        ? `reference: ${Object.entries(reference.versions)
            .map(([name, version]) => `${name} ${version}`)
            .join(', ')}`
        : 'reference not installed (bench/setup-imagecorruptions.sh or TEMPEST_IMAGECORRUPTIONS_PYTHON): Tempest only',
    );
    // Warm both sides up on the whole image set first, Tempest twice (its JIT optimizes a function
    // only after many calls, and a real cell runs thousands of images, not the handful timed here;
    // one image was not enough to reach the steady state), the reference once (caches, imports).
    for (const module of modules) {
      for (const { set, tensor } of sets) {
        timeTempest(module, tensor);
        timeTempest(module, tensor);
        if (reference) await reference.time(module.name, set);
      }
    }
    const results = new Map<string, Measurement>();
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const module of modules) {
        for (const { set, tensor } of sets) {
          const key = `${module.name} ${set}`;
          const entry = results.get(key) ?? { tempest: [], reference: [] };
          results.set(key, entry);
          // Alternate who goes first so neither side always meets a warmer cache or a busier machine.
          if (repeat % 2 === 0) entry.tempest.push(timeTempest(module, tensor));
          if (reference) entry.reference.push(await reference.time(module.name, set));
          if (repeat % 2 === 1) entry.tempest.push(timeTempest(module, tensor));
        }
      }
    }
    report(results, modules, sets, reference !== undefined);
  } finally {
    reference?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function report(
  results: Map<string, Measurement>,
  modules: readonly PerturbationModule[],
  sets: readonly { set: ImageSet; count: number }[],
  withReference: boolean,
): void {
  const rate = (count: number, seconds: number) => (count * 5) / seconds;
  const spread = (values: number[]) => `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`;
  for (const { set, count } of sets) {
    console.log(`\n${set === 'rgb' ? 'RGB 224x224' : 'gray 28x28'} (${count} images)`);
    console.log(
      withReference
        ? 'corruption        | tempest img/s | reference img/s | wall ratio (spread) | cpu ratio (spread)'
        : 'corruption        | tempest img/s',
    );
    const below: string[] = [];
    const failed: string[] = [];
    const totals = { tempest: 0, reference: 0, tempestCpu: 0, referenceCpu: 0 };
    for (const module of modules) {
      const { tempest, reference } = results.get(`${module.name} ${set}`)!;
      const wall = median(tempest.map((timing) => timing.seconds));
      const cells = [module.name.padEnd(17), rate(count, wall).toFixed(1).padStart(13)];
      const error = reference.find((value) => typeof value === 'string');
      if (withReference && error !== undefined) {
        failed.push(`${module.name}: ${error}`);
        cells.push('failed'.padStart(15));
      } else if (withReference) {
        const theirs = reference as Timing[];
        const wallRatios = theirs.map((timing, index) => timing.seconds / tempest[index].seconds);
        const cpuRatios = theirs.map((timing, index) => timing.cpuSeconds / tempest[index].cpuSeconds);
        const wallRatio = median(wallRatios);
        const cpuRatio = median(cpuRatios);
        totals.tempest += wall;
        totals.reference += median(theirs.map((timing) => timing.seconds));
        totals.tempestCpu += median(tempest.map((timing) => timing.cpuSeconds));
        totals.referenceCpu += median(theirs.map((timing) => timing.cpuSeconds));
        if (wallRatio < 1 || cpuRatio < 1) {
          below.push(`${module.name} (wall ${wallRatio.toFixed(2)}x, cpu ${cpuRatio.toFixed(2)}x)`);
        }
        cells.push(
          rate(count, median(theirs.map((timing) => timing.seconds)))
            .toFixed(1)
            .padStart(15),
          `${wallRatio.toFixed(2)} (${spread(wallRatios)})${wallRatio < 1 ? ' <1x' : ''}`.padStart(19),
          `${cpuRatio.toFixed(2)} (${spread(cpuRatios)})${cpuRatio < 1 ? ' <1x' : ''}`.padStart(18),
        );
      }
      console.log(cells.join(' | '));
    }
    if (!withReference) continue;
    for (const line of failed) console.log(`reference failed on ${line}`);
    console.log(
      `overall (sums of median times where both ran): wall ratio ${(totals.reference / totals.tempest).toFixed(2)}, ` +
        `cpu ratio ${(totals.referenceCpu / totals.tempestCpu).toFixed(2)}`,
    );
    console.log(
      below.length === 0
        ? `every corruption at least 1x the reference on ${set}`
        : `BELOW 1x on ${set} (${below.length} of ${modules.length}): ${below.join(', ')}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
