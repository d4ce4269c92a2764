import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBenchmarkLocally } from '../client/local-run';
import { loadDataset } from '../core/data/dataset';
import { loadMnist } from '../core/data/mnist';
import { encodeNpy } from '../core/data/npy';
import { TempestInputError } from '../core/errors';
import { LocalArtifactStore } from '../core/store/local';
import type { BenchmarkResults } from '../core/results';
import { tempDir } from './helpers/cli';
import { exampleInput } from './helpers/temporal';

const digits = loadMnist('test', 50);

/** A .npy file of any dtype, written the way NumPy does (used for dtypes Tempest itself never writes). */
function rawNpy(descr: string, shape: number[], body: ArrayBufferView): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + body.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), 10 + header.length);
  return out;
}

function csvOf(
  rows: number,
  labels: ArrayLike<number>,
  pixels: Float32Array,
  mutate?: (cells: string[][]) => void,
) {
  const header = ['label', ...Array.from({ length: 784 }, (_, i) => `p${i}`)];
  const cells = Array.from({ length: rows }, (_, row) => [
    String(labels[row]),
    ...Array.from(pixels.subarray(row * 784, (row + 1) * 784), String),
  ]);
  mutate?.(cells);
  return [header, ...cells].map((row) => row.join(',')).join('\n');
}

async function errorOf(work: Promise<unknown>): Promise<TempestInputError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TempestInputError);
  return error as TempestInputError;
}

describe('dataset loaders', () => {
  it('reads NumPy arrays (float32 or float64 inputs, any integer labels) into the same tensor', async () => {
    const dir = await tempDir('npy');
    await writeFile(join(dir, 'x32.npy'), encodeNpy('<f4', digits.inputs.dims, digits.inputs.data));
    await writeFile(
      join(dir, 'x64.npy'),
      rawNpy('<f8', [...digits.inputs.dims], Float64Array.from(digits.inputs.data)),
    );
    await writeFile(
      join(dir, 'y.npy'),
      rawNpy(
        '<i8',
        [50],
        BigInt64Array.from(digits.labels, (l) => BigInt(l)),
      ),
    );
    for (const inputs of ['x32.npy', 'x64.npy']) {
      const { data, lineage } = await loadDataset({ source: 'npy', inputs, labels: 'y.npy' }, dir);
      expect(data.inputs.dims).toEqual([50, 1, 28, 28]);
      expect(data.inputs.data).toEqual(digits.inputs.data);
      expect([...data.labels]).toEqual([...digits.labels]);
      expect(lineage.files.map((file) => file.path)).toEqual([inputs, 'y.npy']);
    }
    const first10 = await loadDataset(
      { source: 'npy', inputs: 'x32.npy', labels: 'y.npy', samples: 10 },
      dir,
    );
    expect([...first10.data.labels]).toEqual([...digits.labels.slice(0, 10)]);
  });

  it('reads CSV feature columns reshaped to the given per-sample shape', async () => {
    const dir = await tempDir('csv');
    await writeFile(join(dir, 'digits.csv'), csvOf(50, digits.labels, digits.inputs.data));
    const { data } = await loadDataset(
      { source: 'csv', path: 'digits.csv', labelColumn: 'label', shape: [1, 28, 28] },
      dir,
    );
    expect(data.inputs.dims).toEqual([50, 1, 28, 28]);
    expect(data.inputs.data).toEqual(digits.inputs.data);
    expect([...data.labels]).toEqual([...digits.labels]);
  });

  it('refuses NaN, missing files, bad labels and mismatched shapes, saying where', async () => {
    const dir = await tempDir('bad');
    await writeFile(
      join(dir, 'nan.csv'),
      csvOf(5, digits.labels, digits.inputs.data, (rows) => (rows[3][100] = '')),
    );
    const nan = await errorOf(loadDataset({ source: 'csv', path: 'nan.csv', labelColumn: 'label' }, dir));
    expect(nan.kind).toBe('NonFiniteData');
    expect(nan.message).toMatch(/sample 3 has a non-finite value \(NaN\) at element 99/);

    const missing = await errorOf(loadDataset({ source: 'npy', inputs: 'nope.npy', labels: 'y.npy' }, dir));
    expect(missing.kind).toBe('DataNotFound');
    expect(missing.message).toContain(join(dir, 'nope.npy'));

    await writeFile(
      join(dir, 'label.csv'),
      csvOf(5, digits.labels, digits.inputs.data, (rows) => (rows[1][0] = '2.5')),
    );
    expect(
      (await errorOf(loadDataset({ source: 'csv', path: 'label.csv', labelColumn: 'label' }, dir))).message,
    ).toMatch(/row 3: label "2.5" is not an integer/);
    expect(
      (await errorOf(loadDataset({ source: 'csv', path: 'label.csv', labelColumn: 'digit' }, dir))).message,
    ).toMatch(/column "digit" not in/);

    await writeFile(join(dir, 'x.npy'), encodeNpy('<f4', [5, 784], digits.inputs.data.slice(0, 5 * 784)));
    await writeFile(join(dir, 'y4.npy'), encodeNpy('<i4', [4], digits.labels.slice(0, 4)));
    expect(
      (await errorOf(loadDataset({ source: 'npy', inputs: 'x.npy', labels: 'y4.npy' }, dir))).message,
    ).toMatch(/5 input samples but 4 labels/);
    expect(
      (
        await errorOf(
          loadDataset({ source: 'csv', path: 'label.csv', labelColumn: 'label', shape: [3, 28, 28] }, dir),
        )
      ).message,
    ).toMatch(/\[3, 28, 28\] holds 2352 values but .* has 784 feature columns/);
  });

  it('identifies data by content: the same digits from NPY and from the builtin give the same cell keys', async () => {
    const dir = await tempDir('same-data');
    await writeFile(join(dir, 'x.npy'), encodeNpy('<f4', digits.inputs.dims, digits.inputs.data));
    await writeFile(join(dir, 'y.npy'), encodeNpy('<i4', [50], digits.labels));
    const store = new LocalArtifactStore(join(dir, 'store'));
    const builtin = await runBenchmarkLocally(
      await exampleInput('name: same\ndataset: { source: builtin, name: mnist, split: test, samples: 50 }\n'),
      store,
    );
    const fromNpy = await runBenchmarkLocally(
      await exampleInput(
        `name: same\ndataset: { source: npy, inputs: ${join(dir, 'x.npy')}, labels: ${join(dir, 'y.npy')} }\n`,
      ),
      store,
    );
    const read = async (sha256: string) =>
      JSON.parse(new TextDecoder().decode(await store.getBlob(sha256))) as BenchmarkResults;
    const [a, b] = [await read(builtin.results!.sha256), await read(fromNpy.results!.sha256)];
    expect(b.dataset.hash).toBe(a.dataset.hash);
    expect(b.cells.map((cell) => cell.key)).toEqual(a.cells.map((cell) => cell.key));
    expect(fromNpy.cells.cached).toBe(fromNpy.cells.total);
  });
});
