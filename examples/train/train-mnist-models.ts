import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMnist } from '../../core/data/mnist';
import { sha256Hex } from '../../core/hash';
import { packageRoot } from '../../core/package-root';
import { exportNetwork } from './export';
import { createCnn, createMlp, testAccuracy, type Network } from './models';
import { train, type TrainingConfig } from './training';

/**
 * Trains the two example MNIST classifiers and writes them as ONNX, reproducibly: rerunning gives
 * the same bytes, so the committed models and their SHA256SUMS can be checked by anyone (and are,
 * in test/examples-train.test.ts).
 */

interface Recipe {
  readonly file: string;
  readonly create: () => Network;
  readonly config: TrainingConfig;
}

const RECIPES: readonly Recipe[] = [
  {
    file: 'mnist-mlp.onnx',
    create: createMlp,
    config: { epochs: 5, batchSize: 32, learningRate: 0.05, learningRateDecay: 0.7, momentum: 0.9 },
  },
  {
    file: 'mnist-cnn.onnx',
    create: createCnn,
    config: { epochs: 3, batchSize: 32, learningRate: 0.03, learningRateDecay: 0.5, momentum: 0.9 },
  },
];

export interface TrainedModelFile {
  readonly name: string;
  readonly sha256: string;
  readonly testAccuracy: number;
  /** The trained network itself, to compare a runtime's output for the file against. */
  readonly network: Network;
}

export interface TrainAndExportOptions {
  readonly outDir: string;
  readonly log?: (line: string) => void;
}

/** Train every example model, write it and a SHA256SUMS (sha256sum format) into `outDir`. */
export async function trainAndExport(options: TrainAndExportOptions): Promise<{ files: TrainedModelFile[] }> {
  const log = options.log ?? (() => {});
  const trainSplit = loadMnist('train');
  const testSplit = loadMnist('test');
  await mkdir(options.outDir, { recursive: true });
  const files: TrainedModelFile[] = [];
  for (const { file, create, config } of RECIPES) {
    const network = create();
    train(network, trainSplit, config, (epoch, loss) =>
      log(`${network.name} epoch ${epoch + 1}: loss ${loss.toFixed(4)}`),
    );
    const bytes = exportNetwork(network);
    await writeFile(join(options.outDir, file), bytes);
    const trained = {
      name: file,
      sha256: sha256Hex(bytes),
      testAccuracy: testAccuracy(network, testSplit),
      network,
    };
    log(`${file}: sha256 ${trained.sha256}, test accuracy ${trained.testAccuracy.toFixed(4)}`);
    files.push(trained);
  }
  const sums = [...files]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((file) => `${file.sha256}  ${file.name}\n`)
    .join('');
  await writeFile(join(options.outDir, 'SHA256SUMS'), sums);
  return { files };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const outDir = values.out === undefined ? join(packageRoot(), 'examples', 'models') : resolve(values.out);
  trainAndExport({ outDir, log: (line) => console.log(line) }).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
