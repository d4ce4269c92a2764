/**
 * Corruption throughput: images per second for every built-in image corruption, severities 1-5,
 * on 28x28 gray MNIST digits and on 224x224 RGB images; and, when the reference Python package
 * (imagecorruptions 1.1.2) is available, the same uint8 images through it in the same run, with
 * the ratio. Target: Tempest not slower overall (total time over all corruptions).
 *
 *   npm run build && node dist/bench/corruptions.js [--gray N] [--rgb N]
 * The reference: bench/setup-imagecorruptions.sh (or TEMPEST_IMAGECORRUPTIONS_PYTHON=/path/to/python).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadMnist } from '../core/data/mnist';
import { encodeNpy } from '../core/data/npy';
import { packageRoot } from '../core/package-root';
import type { PerturbationContext } from '../core/perturb/module';
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

function timeTempest(images: Tensor): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const module of BUILTIN_PERTURBATIONS.filter((candidate) => candidate.inputKind === 'image')) {
    const started = performance.now();
    for (let severity = 1; severity <= 5; severity++)
      module.apply(images, module.severityParams!(severity), context());
    seconds.set(module.name, (performance.now() - started) / 1000);
  }
  return seconds;
}

type ReferenceTimes = Record<string, Record<'gray' | 'rgb', number | string>>;

async function timeReference(gray: Uint8Array, grayCount: number, rgb: Uint8Array, rgbCount: number) {
  const python =
    process.env.TEMPEST_IMAGECORRUPTIONS_PYTHON ??
    join(packageRoot(), '.tempest', 'bench-venv', 'bin', 'python');
  if (!existsSync(python)) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'tempest-corruption-bench-'));
  try {
    await writeFile(join(dir, 'gray.npy'), encodeNpy('|u1', [grayCount, 28, 28], gray));
    await writeFile(join(dir, 'rgb.npy'), encodeNpy('|u1', [rgbCount, 224, 224, 3], rgb));
    const { stdout } = await promisify(execFile)(
      python,
      [
        join(packageRoot(), 'bench', 'imagecorruptions_reference.py'),
        join(dir, 'gray.npy'),
        join(dir, 'rgb.npy'),
      ],
      { maxBuffer: 16 * 1024 * 1024, timeout: 60 * 60_000 },
    );
    return JSON.parse(stdout) as ReferenceTimes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const grayCount = numericArg('--gray', 100);
  const rgbCount = numericArg('--rgb', 10);
  const digits = loadMnist('test', grayCount).inputs;
  const gray = Uint8Array.from(digits.data, (value) => Math.round(value * 255));
  const rgb = rgbImages(rgbCount);
  const tempestGray = timeTempest(toTensor(gray, grayCount, 28, 28, 1));
  const tempestRgb = timeTempest(toTensor(rgb, rgbCount, 224, 224, 3));
  const reference = await timeReference(gray, grayCount, rgb, rgbCount);

  const rate = (count: number, seconds: number) => (count * 5) / seconds;
  console.log(
    `corruption throughput, images/s over severities 1-5: ${grayCount} gray 28x28 digits, ${rgbCount} RGB 224x224`,
  );
  console.log(
    reference
      ? 'module              | gray: tempest  reference  ratio | rgb: tempest  reference  ratio'
      : 'module              | gray: tempest | rgb: tempest   (reference not installed: bench/setup-imagecorruptions.sh)',
  );
  const totals = { tempest: { gray: 0, rgb: 0 }, reference: { gray: 0, rgb: 0 } };
  for (const [name, graySeconds] of tempestGray) {
    const rgbSeconds = tempestRgb.get(name)!;
    const cells = [`${name.padEnd(19)} | ${rate(grayCount, graySeconds).toFixed(0).padStart(13)}`];
    const referenceFor = reference?.[name];
    if (referenceFor) {
      const column = (label: 'gray' | 'rgb', count: number, ours: number) => {
        const theirs = referenceFor[label];
        if (typeof theirs !== 'number') return `${'failed'.padStart(10)} ${'–'.padStart(6)}`;
        totals.reference[label] += theirs;
        totals.tempest[label] += ours;
        return `${rate(count, theirs).toFixed(0).padStart(10)} ${(theirs / ours).toFixed(2).padStart(6)}`;
      };
      cells[0] += ` ${column('gray', grayCount, graySeconds)}`;
      cells.push(
        `${rate(rgbCount, rgbSeconds).toFixed(0).padStart(12)} ${column('rgb', rgbCount, rgbSeconds)}`,
      );
    } else {
      cells.push(rate(rgbCount, rgbSeconds).toFixed(1).padStart(12));
    }
    console.log(cells.join(' |'));
  }
  if (reference) {
    const failed = Object.entries(reference).filter(
      ([, times]) => typeof times.gray !== 'number' || typeof times.rgb !== 'number',
    );
    for (const [name, times] of failed)
      console.log(`reference failed on ${name}: ${String(times.gray)} / ${String(times.rgb)}`);
    console.log(
      `overall (total time where both ran; ratio = reference / tempest, > 1 means Tempest is faster): ` +
        `gray ${(totals.reference.gray / totals.tempest.gray).toFixed(2)}, rgb ${(totals.reference.rgb / totals.tempest.rgb).toFixed(2)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
