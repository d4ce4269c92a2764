import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchmarkSpecV2 } from '../spec';
import { loadDataset } from '../core/data/dataset';
import { centerCropOffsets, loadImageFolder, resizedSize } from '../core/data/image-folder';
import { TempestInputError } from '../core/errors';
import { BUILTIN_PERTURBATIONS } from '../core/perturb/registry';
import { imageContext } from './helpers/perturb';

let dir: string;

/** An RGB image whose pixel (y, x) is (10 y + x, 2 x, value): every pixel tells where it came from. */
function coordinateImage(height: number, width: number, value: number): Buffer {
  const pixels = Buffer.alloc(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      pixels[at] = 10 * y + x;
      pixels[at + 1] = 2 * x;
      pixels[at + 2] = value;
    }
  }
  return pixels;
}

async function writeImage(
  path: string,
  pixels: Buffer,
  height: number,
  width: number,
  format: 'png' | 'jpeg',
) {
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  await writeFile(path, await (format === 'png' ? image.png() : image.jpeg({ quality: 95 })).toBuffer());
}

async function errorOf(promise: Promise<unknown>): Promise<TempestInputError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TempestInputError);
    return error as TempestInputError;
  }
  throw new Error('expected a TempestInputError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tempest-images-'));
  // Two classes, PNG: cat has 3 images, dog 2; files named out of order to check sorting.
  await mkdir(join(dir, 'pets', 'cat'), { recursive: true });
  await mkdir(join(dir, 'pets', 'dog'), { recursive: true });
  for (const [name, value] of [
    ['b.png', 20],
    ['a.png', 10],
    ['c.png', 30],
  ] as const) {
    await writeImage(join(dir, 'pets', 'cat', name), coordinateImage(6, 8, value), 6, 8, 'png');
  }
  for (const [name, value] of [
    ['z.png', 200],
    ['y.png', 100],
  ] as const) {
    await writeImage(join(dir, 'pets', 'dog', name), coordinateImage(6, 8, value), 6, 8, 'png');
  }
  await writeFile(join(dir, 'pets', 'notes.txt'), 'not a class folder');
}, 60_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('image-folder datasets (real PNG/JPEG decoded with sharp)', () => {
  it('reads class subfolders: classes sorted, files sorted, classes interleaved, pixels exact in [0, 1] NCHW', async () => {
    const folder = await loadImageFolder({ source: 'images', path: 'pets' }, dir, undefined);
    expect(folder.classes).toEqual(['cat', 'dog']);
    expect(folder.files).toEqual(['cat/a.png', 'dog/y.png', 'cat/b.png', 'dog/z.png', 'cat/c.png']);
    expect(Array.from(folder.data.labels)).toEqual([0, 1, 0, 1, 0]);
    expect(folder.data.inputs.dims).toEqual([5, 3, 6, 8]);
    const plane = 6 * 8;
    const at = (sample: number, channel: number, y: number, x: number) =>
      folder.data.inputs.data[sample * 3 * plane + channel * plane + y * 8 + x];
    // PNG is lossless: every value comes back exactly.
    expect(at(0, 0, 5, 7)).toBe(Math.fround(57 / 255));
    expect(at(0, 1, 5, 7)).toBe(Math.fround(14 / 255));
    expect(at(0, 2, 2, 3)).toBe(Math.fround(10 / 255));
    expect(at(3, 2, 0, 0)).toBe(Math.fround(200 / 255));
    expect(folder.fileListSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('honours a declared class order and a sample count', async () => {
    const folder = await loadImageFolder(
      { source: 'images', path: 'pets', classes: ['dog', 'cat'], samples: 3 },
      dir,
      undefined,
    );
    expect(folder.files).toEqual(['dog/y.png', 'cat/a.png', 'dog/z.png']);
    expect(Array.from(folder.data.labels)).toEqual([0, 1, 0]);
  });

  it('center-crops with torchvision offsets (round half to even) and resizes the shorter side', async () => {
    expect(centerCropOffsets(6, 8, [4, 4])).toEqual({ top: 1, left: 2 });
    // (7 - 4) / 2 = 1.5 rounds to 2; (5 - 4) / 2 = 0.5 rounds to 0: Python's round().
    expect(centerCropOffsets(7, 5, [4, 4])).toEqual({ top: 2, left: 0 });
    expect(resizedSize(6, 8, 3)).toEqual({ height: 3, width: 4 });
    expect(resizedSize(300, 200, 224)).toEqual({ height: 336, width: 224 });
    expect(resizedSize(375, 500, 256)).toEqual({ height: 256, width: 341 });

    const cropped = await loadImageFolder({ source: 'images', path: 'pets' }, dir, {
      centerCrop: [4, 4],
      layout: 'NCHW',
      dtype: 'float32',
      scale: 1,
    });
    expect(cropped.data.inputs.dims).toEqual([5, 3, 4, 4]);
    // Crop origin (1, 2): the crop's (0, 0) is the image's (1, 2), whose red value is 12.
    expect(cropped.data.inputs.data[0]).toBe(Math.fround(12 / 255));
    expect(cropped.data.inputs.data[15]).toBe(Math.fround((10 * 4 + 5) / 255));

    const resized = await loadImageFolder({ source: 'images', path: 'pets' }, dir, {
      resize: 3,
      layout: 'NCHW',
      dtype: 'float32',
      scale: 1,
    });
    expect(resized.data.inputs.dims).toEqual([5, 3, 3, 4]);
    // The blue channel is constant in each image: any averaging filter keeps it exactly.
    const plane = 12;
    for (let i = 0; i < plane; i++)
      expect(resized.data.inputs.data[2 * plane + i]).toBe(Math.fround(10 / 255));
    // Downsampling by 2 with an antialiased linear filter averages neighbours: the red ramp
    // (10 y + x) stays monotone along both axes, strictly inside the source range.
    const red = Array.from(resized.data.inputs.data.slice(0, plane), (value) => Math.round(value * 255));
    for (let y = 0; y < 3; y++) {
      for (let x = 1; x < 4; x++) expect(red[y * 4 + x]).toBeGreaterThan(red[y * 4 + x - 1]);
    }
    expect(red[0]).toBeGreaterThan(0);
    expect(red[11]).toBeLessThan(57);
  });

  it('reads a CSV manifest of path,label in row order, with names or indices as labels', async () => {
    await mkdir(join(dir, 'm', 'img'), { recursive: true });
    await writeImage(join(dir, 'm', 'img', 'one.jpg'), coordinateImage(8, 8, 50), 8, 8, 'jpeg');
    await writeImage(join(dir, 'm', 'img', 'two.png'), coordinateImage(8, 8, 150), 8, 8, 'png');
    await writeFile(join(dir, 'm', 'named.csv'), 'path,label\nimg/two.png,zebra\nimg/one.jpg,ant\n');
    const named = await loadImageFolder({ source: 'images', manifest: 'm/named.csv' }, dir, undefined);
    expect(named.classes).toEqual(['ant', 'zebra']);
    expect(named.files).toEqual(['img/two.png', 'img/one.jpg']);
    expect(Array.from(named.data.labels)).toEqual([1, 0]);
    // JPEG is lossy, but a flat channel at quality 95 decodes within a few levels.
    const blue = named.data.inputs.data[1 * 3 * 64 + 2 * 64 + 27] * 255;
    expect(Math.abs(blue - 50)).toBeLessThan(4);

    await writeFile(join(dir, 'm', 'indexed.csv'), 'path,label\nimg/one.jpg,2\nimg/two.png,0\n');
    const indexed = await loadImageFolder({ source: 'images', manifest: 'm/indexed.csv' }, dir, undefined);
    expect(indexed.classes).toEqual(['0', '1', '2']);
    expect(Array.from(indexed.data.labels)).toEqual([2, 0]);
  });

  it('explains every problem: missing folder, unknown class, empty class, bad image, size mismatch, escape, crop too large', async () => {
    expect(
      (await errorOf(loadImageFolder({ source: 'images', path: 'nope' }, dir, undefined))).message,
    ).toMatch(/dataset.path: cannot read the image folder .*nope \(ENOENT\)/);
    expect(
      (
        await errorOf(
          loadImageFolder({ source: 'images', path: 'pets', classes: ['cat', 'cow'] }, dir, undefined),
        )
      ).message,
    ).toContain('dataset.classes: no subfolder "cow"');

    await mkdir(join(dir, 'empty', 'a'), { recursive: true });
    await mkdir(join(dir, 'empty', 'b'), { recursive: true });
    await writeImage(join(dir, 'empty', 'a', 'x.png'), coordinateImage(4, 4, 1), 4, 4, 'png');
    expect(
      (await errorOf(loadImageFolder({ source: 'images', path: 'empty' }, dir, undefined))).message,
    ).toMatch(/class folder .*empty\/b has no PNG or JPEG images/);

    await mkdir(join(dir, 'broken', 'a'), { recursive: true });
    await mkdir(join(dir, 'broken', 'b'), { recursive: true });
    await writeImage(join(dir, 'broken', 'a', 'x.png'), coordinateImage(4, 4, 1), 4, 4, 'png');
    await writeFile(join(dir, 'broken', 'b', 'y.jpg'), 'this is not a JPEG');
    const broken = await errorOf(loadImageFolder({ source: 'images', path: 'broken' }, dir, undefined));
    expect(broken.kind).toBe('BadImage');
    expect(broken.message).toContain('cannot decode image b/y.jpg');

    await mkdir(join(dir, 'sizes', 'a'), { recursive: true });
    await mkdir(join(dir, 'sizes', 'b'), { recursive: true });
    await writeImage(join(dir, 'sizes', 'a', 'x.png'), coordinateImage(4, 4, 1), 4, 4, 'png');
    await writeImage(join(dir, 'sizes', 'b', 'y.png'), coordinateImage(5, 4, 1), 5, 4, 'png');
    const sizes = await errorOf(loadImageFolder({ source: 'images', path: 'sizes' }, dir, undefined));
    expect(sizes.message).toContain('image b/y.png is 5x4 but a/x.png gave 4x4');
    expect(sizes.message).toContain('set preprocessing.resize and preprocessing.centerCrop');

    await writeFile(join(dir, 'm', 'escape.csv'), 'path,label\n../../etc/passwd,a\n');
    expect(
      (await errorOf(loadImageFolder({ source: 'images', manifest: 'm/escape.csv' }, dir, undefined))).kind,
    ).toBe('PathEscapes');
    await writeFile(join(dir, 'm', 'unknown.csv'), 'path,label\nimg/one.jpg,ant\n');
    expect(
      (
        await errorOf(
          loadImageFolder(
            { source: 'images', manifest: 'm/unknown.csv', classes: ['bee', 'cow'] },
            dir,
            undefined,
          ),
        )
      ).message,
    ).toContain('label "ant" is not a class (classes: bee, cow)');

    const crop = await errorOf(
      loadImageFolder({ source: 'images', path: 'pets' }, dir, {
        centerCrop: 10,
        layout: 'NCHW',
        dtype: 'float32',
        scale: 1,
      }),
    );
    expect(crop.message).toContain(
      'preprocessing.centerCrop: 10x10 is larger than image cat/a.png (6x8 after resize)',
    );

    const notImages = await errorOf(
      loadDataset({ source: 'builtin', name: 'mnist', split: 'test', samples: 10 }, dir, {
        resize: 28,
        layout: 'NCHW',
        dtype: 'float32',
        scale: 1,
      }),
    );
    expect(notImages.kind).toBe('PreprocessingNotApplicable');
  });

  it('goes through loadDataset and the spec: lineage names the decoder, the classes and the file list', async () => {
    const spec = BenchmarkSpecV2.parse({
      apiVersion: 'tempest/v2',
      name: 'pets',
      models: [{ id: 'm', path: 'm.onnx' }],
      dataset: { source: 'images', path: 'pets' },
      preprocessing: { centerCrop: 4, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    });
    expect(spec.preprocessing).toMatchObject({ layout: 'NCHW', dtype: 'float32', scale: 1 });
    const loaded = await loadDataset(spec.dataset, dir, spec.preprocessing);
    expect(loaded.classes).toEqual(['cat', 'dog']);
    expect(loaded.data.inputs.dims).toEqual([5, 3, 4, 4]);
    expect(loaded.lineage.source).toBe('images');
    expect(loaded.lineage.description).toContain(`sharp@${sharp.versions.sharp}`);
    expect(loaded.lineage.description).toContain('center-cropped to 4x4');
    expect(loaded.lineage.selection).toMatch(/class-interleaved order \(file list sha256 [0-9a-f]{64}\)/);
    expect(() =>
      BenchmarkSpecV2.parse({ ...spec, dataset: { source: 'images', path: 'a', manifest: 'b.csv' } }),
    ).toThrow(/exactly one of path/);
    expect(() => BenchmarkSpecV2.parse({ ...spec, preprocessing: { mean: [0.5, 0.5, 0.5] } })).toThrow(
      /mean and std together/,
    );
  });

  it('decodes to the same bytes every time, and the image corruptions run on the loaded RGB tensor', async () => {
    const options = { resize: 5, centerCrop: 4, layout: 'NCHW', dtype: 'float32', scale: 1 } as const;
    const first = await loadImageFolder({ source: 'images', path: 'pets' }, dir, options);
    const second = await loadImageFolder({ source: 'images', path: 'pets' }, dir, options);
    expect(Buffer.from(second.data.inputs.data.buffer)).toEqual(Buffer.from(first.data.inputs.data.buffer));

    // Corruptions need at least 32x32 images, as the reference does.
    await mkdir(join(dir, 'big', 'a'), { recursive: true });
    await mkdir(join(dir, 'big', 'b'), { recursive: true });
    const photo = (value: number) => {
      const pixels = Buffer.alloc(80 * 96 * 3);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + value) % 256;
      return pixels;
    };
    await writeImage(join(dir, 'big', 'a', 'x.jpg'), photo(3), 80, 96, 'jpeg');
    await writeImage(join(dir, 'big', 'b', 'y.png'), photo(9), 80, 96, 'png');
    const big = await loadImageFolder({ source: 'images', path: 'big' }, dir, {
      resize: 72,
      centerCrop: 64,
      layout: 'NCHW',
      dtype: 'float32',
      scale: 1,
    });
    expect(big.data.inputs.dims).toEqual([2, 3, 64, 64]);
    for (const name of ['gaussian_noise', 'defocus_blur', 'jpeg_compression', 'fog']) {
      const module = BUILTIN_PERTURBATIONS.find((candidate) => candidate.name === name)!;
      const out = module.apply(big.data.inputs, module.severityParams!(3), imageContext(7));
      expect(out.dims).toEqual([2, 3, 64, 64]);
      let changed = 0;
      for (let i = 0; i < out.data.length; i++) {
        expect(out.data[i]).toBeGreaterThanOrEqual(0);
        expect(out.data[i]).toBeLessThanOrEqual(1);
        if (out.data[i] !== big.data.inputs.data[i]) changed++;
      }
      expect(changed, name).toBeGreaterThan(out.data.length / 10);
    }
  });
});
