import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../core/data/npy';
import { LocalArtifactStore } from '../core/store/local';
import { killSpawnedTempests, runTempest, spawnTempest, tempDir } from './helpers/cli';
import { useTestTemporal } from './helpers/temporal';

afterAll(killSpawnedTempests);

const MLP = join(process.cwd(), 'examples', 'models', 'mnist-mlp.onnx');
let dir: string;

const spec = (name: string, model: string, dataset: string) =>
  `apiVersion: tempest/v2\nname: ${name}\nmodels: [{ id: m, path: ${model} }]\ndataset: ${dataset}\n`;
const npyDataset = (inputs: string) => `{ source: npy, inputs: ${inputs}, labels: labels.npy }`;

/** A raw .npy whose header claims `shape` over `bytes` bytes of data (a lying or truncated file). */
function npyWithHeader(shape: string, bytes: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(prefix);
  prefix[6] = 1;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.alloc(bytes)]);
}

beforeAll(async () => {
  dir = await tempDir('bad-input');
  const features = (poison?: number) => {
    const values = new Float32Array(20 * 10).map((_, i) => (i % 7) / 7);
    if (poison !== undefined) values[3 * 10 + 4] = poison;
    return encodeNpy('<f4', [20, 10], values);
  };
  await writeFile(join(dir, 'labels.npy'), encodeNpy('<i4', [20], new Int32Array(20)));
  await writeFile(join(dir, 'features.npy'), features());
  await writeFile(join(dir, 'nan.npy'), features(Number.NaN));
  await writeFile(join(dir, 'inf.npy'), features(Number.POSITIVE_INFINITY));
  await writeFile(join(dir, 'absurd.npy'), npyWithHeader('(100000, 100000, 1000)', 400));
  // Bytes that are not a protobuf: what a truncated download or a wrong file gives.
  await writeFile(join(dir, 'corrupt.onnx'), Buffer.from((await readFile(MLP)).subarray(0, 700)).reverse());
});

/** Run a spec with the local executor and return its exit code and stderr. */
async function runSpec(name: string, text: string) {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  return runTempest(['run', file, '--executor', 'local', '--out', join(dir, `out-${name}`)], {
    TEMPEST_HOME: dir,
  });
}

describe('bad input: a clear error (exit 2) naming what is wrong and where', () => {
  const cases: [string, () => string, RegExp][] = [
    ['malformed YAML', () => 'apiVersion: tempest/v2\nname: [unclosed\n', /\(syntax, line \d+\)/],
    [
      'unknown module',
      () =>
        `${spec('bad-module', MLP, '{ source: builtin, name: mnist, samples: 20 }')}perturbations: [{ module: fogg }]\n`,
      /perturbations\[0\]\.module: unknown perturbation module "fogg"/,
    ],
    [
      'missing model file',
      () => spec('bad-missing', join(dir, 'nope.onnx'), npyDataset('features.npy')),
      /nope\.onnx/,
    ],
    [
      'corrupt ONNX',
      () => spec('bad-onnx', join(dir, 'corrupt.onnx'), npyDataset('features.npy')),
      /InvalidModel: .*not a loadable ONNX model/,
    ],
    [
      'input shape mismatch',
      () => spec('bad-shape', MLP, npyDataset('features.npy')),
      /ShapeMismatch: input shape mismatch: model \w+ expects \[N, 1, 28, 28\] but the dataset gives samples of shape \[10\]/,
    ],
    [
      'NaN in data',
      () => spec('bad-nan', MLP, npyDataset('nan.npy')),
      /NonFiniteData: dataset: sample 3 has a non-finite value \(NaN\) at element 4/,
    ],
    [
      'Inf in data',
      () => spec('bad-inf', MLP, npyDataset('inf.npy')),
      /sample 3 has a non-finite value \(Infinity\)/,
    ],
    [
      'absurd dimensions',
      () => spec('bad-absurd', MLP, npyDataset('absurd.npy')),
      /BadNpy: dataset\.inputs: .*absurd\.npy: shape \(100000, 100000, 1000\) of <f4 needs 40000000000000 data bytes, file has 400/,
    ],
  ];
  for (const [what, text, message] of cases) {
    it(what, async () => {
      const result = await runSpec(what.replace(/\W+/g, '-'), text());
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(2);
    });
  }

  it('artifact keys that could escape the store are refused', async () => {
    const store = new LocalArtifactStore(join(dir, 'store'));
    const ref = await store.putBlob(new Uint8Array([1, 2, 3]), 'application/octet-stream');
    await expect(store.setIndex('cells', '../../etc/passwd', ref)).rejects.toThrow(/unsafe artifact key/);
    await expect(store.getIndex('../cells', 'x')).rejects.toThrow(/unsafe artifact index/);
    await expect(store.getBlob('../../etc/passwd')).rejects.toThrow(/not a sha256 address/);
  });
});

describe('a worker stays healthy after bad input, and two workers share a sweep', () => {
  const testTemporal = useTestTemporal();

  it('fails a corrupt-model run without retries, then both workers compute the next sweep', async () => {
    const temporal = testTemporal();
    const artifacts = join(dir, 'shared-artifacts');
    const workers = [0, 1].map(() =>
      spawnTempest([
        'worker',
        '--address',
        temporal.address,
        '--artifacts',
        artifacts,
        '--max-concurrent-cells',
        '1',
      ]),
    );
    try {
      const bad = join(dir, 'cluster-bad.yaml');
      await writeFile(bad, spec('cluster-bad', join(dir, 'corrupt.onnx'), npyDataset('features.npy')));
      const failed = await runTempest(['run', bad, '--address', temporal.address, '--artifacts', artifacts], {
        TEMPEST_HOME: dir,
      });
      expect(failed.code).toBe(2);
      expect(failed.stderr).toMatch(/not a loadable ONNX model/);

      const good = join(dir, 'cluster-good.yaml');
      await writeFile(
        good,
        (await readFile('examples/mnist-quick.yaml', 'utf8'))
          .replace('name: mnist-quick', 'name: cluster-good')
          .replace('samples: 1000', 'samples: 200')
          .replace(/path: models\//g, `path: ${process.cwd()}/examples/models/`),
      );
      const out = join(dir, 'cluster-out');
      const run = await runTempest(
        ['run', good, '--address', temporal.address, '--artifacts', artifacts, '--out', out],
        {
          TEMPEST_HOME: dir,
        },
      );
      expect(run.code).toBe(0);
      const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as {
        cells: { worker: string }[];
      };
      expect(record.cells).toHaveLength(14);
      // Both processes took cells from the one task queue.
      expect(new Set(record.cells.map((cell) => cell.worker.split('@')[0]))).toEqual(
        new Set(workers.map((worker) => String(worker.pid))),
      );
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((worker) => once(worker, 'exit')));
    }
  }, 240_000);
});
