import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import sharp from 'sharp';
import type { ImageFolderDatasetV1, PreprocessingSpecV1 } from '../../spec';
import { TempestInputError } from '../errors';
import { sha256Hex } from '../hash';
import { makeTensor, type LabeledData } from '../tensor/tensor';

/** The decoder and its image library, recorded in lineage: a different libvips may decode JPEG differently. */
export const IMAGE_DECODER_ID = `sharp@${sharp.versions.sharp} (libvips ${sharp.versions.vips})`;

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** Images decoded at once: sharp decodes on libuv's thread pool, so a few in flight keep both cores busy. */
const DECODE_PARALLELISM = 8;

interface ImageEntry {
  readonly file: string;
  readonly label: number;
}

export interface LoadedImageFolder {
  readonly data: LabeledData;
  readonly classes: readonly string[];
  /** Every file in sample order, relative to the folder or manifest. */
  readonly files: readonly string[];
  /** sha256 over the relative paths and labels in sample order: which files, in which order, with which labels. */
  readonly fileListSha256: string;
  /** Human-readable summary of decoding and geometry, for lineage. */
  readonly decoding: string;
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function listDirectory(path: string, field: string) {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch (error) {
    throw new TempestInputError(
      `dataset.${field}: cannot read the image folder ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      'DataNotFound',
    );
  }
}

const isImageFile = (name: string) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());

/**
 * A class-per-subfolder tree. Sample order interleaves the classes (the first file of every class,
 * then the second, ...), files sorted by name within a class, so `samples: N` takes a balanced
 * selection rather than the first classes only.
 */
async function listClassFolders(
  root: string,
  declared: readonly string[] | undefined,
): Promise<{ classes: string[]; entries: ImageEntry[]; skipped: string[] }> {
  const folders = (await listDirectory(root, 'path'))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort(byCodePoint);
  if (folders.length === 0) {
    throw new TempestInputError(
      `dataset.path: ${root} has no class subfolders; put the images of each class in a subfolder named after the class, or use dataset.manifest`,
      'EmptyDataset',
    );
  }
  const classes = declared ? [...declared] : folders;
  for (const name of classes) {
    if (!folders.includes(name)) {
      throw new TempestInputError(
        `dataset.classes: no subfolder "${name}" in ${root} (subfolders: ${folders.join(', ')})`,
        'UnknownClass',
      );
    }
  }
  const perClass: string[][] = [];
  for (const name of classes) {
    const files = (await listDirectory(join(root, name), 'path'))
      .filter((entry) => entry.isFile() && isImageFile(entry.name))
      .map((entry) => `${name}/${entry.name}`)
      .sort(byCodePoint);
    if (files.length === 0) {
      throw new TempestInputError(
        `dataset.path: class folder ${join(root, name)} has no PNG or JPEG images`,
        'EmptyDataset',
      );
    }
    perClass.push(files);
  }
  const entries: ImageEntry[] = [];
  const longest = Math.max(...perClass.map((files) => files.length));
  for (let position = 0; position < longest; position++) {
    perClass.forEach((files, label) => {
      if (position < files.length) entries.push({ file: files[position], label });
    });
  }
  return { classes, entries, skipped: folders.filter((name) => !classes.includes(name)) };
}

/** A CSV of path,label rows: labels are class names or integer class indices; rows keep their order. */
async function readManifest(
  manifestPath: string,
  declared: readonly string[] | undefined,
): Promise<{ classes: string[]; entries: ImageEntry[] }> {
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new TempestInputError(
      `dataset.manifest: cannot read ${manifestPath} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      'DataNotFound',
    );
  }
  let rows: Record<string, string>[];
  try {
    rows = parseCsv<Record<string, string>>(text, { columns: true, skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new TempestInputError(
      `dataset.manifest: ${manifestPath} is not valid CSV: ${(error as Error).message}`,
      'BadCsv',
    );
  }
  if (rows.length === 0) {
    throw new TempestInputError(`dataset.manifest: ${manifestPath} has no rows`, 'EmptyDataset');
  }
  if (!('path' in rows[0]) || !('label' in rows[0])) {
    throw new TempestInputError(
      `dataset.manifest: ${manifestPath} needs the columns path,label (it has ${Object.keys(rows[0]).join(', ')})`,
      'BadCsv',
    );
  }
  const labels = rows.map((row) => row.label);
  const integerLabels = labels.every((label) => /^\d+$/.test(label));
  const classes = declared
    ? [...declared]
    : integerLabels
      ? Array.from({ length: Math.max(...labels.map(Number)) + 1 }, (_, index) => String(index))
      : [...new Set(labels)].sort(byCodePoint);
  const entries = rows.map((row, index) => {
    const byName = classes.indexOf(row.label);
    const label = byName >= 0 ? byName : integerLabels ? Number(row.label) : -1;
    if (label < 0 || label >= classes.length) {
      throw new TempestInputError(
        `dataset.manifest: ${manifestPath} row ${index + 2}: label "${row.label}" is not a class (classes: ${classes.join(', ')}); ` +
          'use a class name or an index below the number of classes, or list dataset.classes',
        'UnknownClass',
      );
    }
    return { file: row.path, label };
  });
  return { classes, entries };
}

/** Python's round(): half to even, as torchvision's CenterCrop uses for its offsets. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** torchvision Resize(int): the shorter side becomes `size`, the longer one int(size * long / short). */
export function resizedSize(height: number, width: number, size: number): { height: number; width: number } {
  if (height <= width) return { height: size, width: Math.floor((size * width) / height) };
  return { height: Math.floor((size * height) / width), width: size };
}

/** torchvision CenterCrop offsets: int(round((size - crop) / 2)), half to even. */
export function centerCropOffsets(
  height: number,
  width: number,
  crop: readonly [number, number],
): { top: number; left: number } {
  return { top: roundHalfEven((height - crop[0]) / 2), left: roundHalfEven((width - crop[1]) / 2) };
}

interface DecodedImage {
  readonly pixels: Buffer;
  readonly height: number;
  readonly width: number;
}

/**
 * Decode one file to 8-bit sRGB, HWC. EXIF orientation is applied (as a viewer shows the photo),
 * an alpha channel is dropped (as PIL's convert('RGB') does), grey becomes three equal channels
 * and 16-bit images are reduced to 8 bits. The resize is libvips' linear (triangle) filter, whose
 * support widens when downsampling: the antialiased bilinear of PIL and torchvision.
 */
async function decodeImage(path: string, display: string, resize: number | undefined): Promise<DecodedImage> {
  try {
    const bytes = await readFile(path);
    let pipeline = sharp(bytes, { failOn: 'error' }).autoOrient().removeAlpha().toColourspace('srgb');
    if (resize !== undefined) {
      const oriented = (await sharp(bytes).metadata()).autoOrient;
      const target = resizedSize(oriented.height, oriented.width, resize);
      pipeline = pipeline.resize(target.width, target.height, { kernel: 'linear', fit: 'fill' });
    }
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, not 3`);
    return { pixels: data, height: info.height, width: info.width };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TempestInputError(
      code === 'ENOENT'
        ? `dataset: image ${display} does not exist (${path})`
        : `dataset: cannot decode image ${display} (${path}): ${(error as Error).message.split('\n')[0]}; only PNG and JPEG files are read`,
      code === 'ENOENT' ? 'DataNotFound' : 'BadImage',
    );
  }
}

/** Write one decoded image, center-cropped to `crop`, as [0, 1] floats into channel planes at `offset`. */
function writePlanes(
  image: DecodedImage,
  crop: readonly [number, number],
  target: Float32Array,
  offset: number,
): void {
  const { top, left } = centerCropOffsets(image.height, image.width, crop);
  const [height, width] = crop;
  const plane = height * width;
  for (let y = 0; y < height; y++) {
    let source = ((top + y) * image.width + left) * 3;
    const row = offset + y * width;
    for (let x = 0; x < width; x++, source += 3) {
      target[row + x] = image.pixels[source] / 255;
      target[row + plane + x] = image.pixels[source + 1] / 255;
      target[row + 2 * plane + x] = image.pixels[source + 2] / 255;
    }
  }
}

function cropOf(preprocessing: PreprocessingSpecV1 | undefined): [number, number] | undefined {
  const crop = preprocessing?.centerCrop;
  if (crop === undefined) return undefined;
  return typeof crop === 'number' ? [crop, crop] : [crop[0], crop[1]];
}

/** Refuse a file path that leaves the dataset's folder (a manifest row such as ../../etc/passwd). */
function insideRoot(root: string, file: string, where: string): string {
  const path = resolve(root, file);
  const within = relative(root, path);
  if (within.startsWith('..') || within.startsWith(sep) || within === '') {
    throw new TempestInputError(`${where}: image path "${file}" leaves the folder ${root}`, 'PathEscapes');
  }
  return path;
}

/**
 * Load an image-folder dataset as RGB pixels in [0, 1], NCHW [N, 3, H, W]: decoded, resized
 * (shorter side) and center-cropped as the spec's preprocessing says. Normalization, scale, layout
 * and dtype are not applied here: the model adapter folds them into the model graph, so
 * perturbations and attack budgets stay in pixel space.
 */
export async function loadImageFolder(
  spec: ImageFolderDatasetV1,
  baseDir: string,
  preprocessing: PreprocessingSpecV1 | undefined,
): Promise<LoadedImageFolder> {
  const manifestPath = spec.manifest === undefined ? undefined : resolve(baseDir, spec.manifest);
  const root = manifestPath ? dirname(manifestPath) : resolve(baseDir, spec.path!);
  const listing = manifestPath
    ? { ...(await readManifest(manifestPath, spec.classes)), skipped: [] as string[] }
    : await listClassFolders(root, spec.classes);
  const where = manifestPath ? `dataset.manifest (${basename(manifestPath)})` : 'dataset.path';
  const available = listing.entries.length;
  if (spec.samples !== undefined && spec.samples > available) {
    throw new TempestInputError(
      `dataset.samples: ${spec.samples} samples asked for, ${root} has ${available} images`,
      'DataTooSmall',
    );
  }
  const entries = listing.entries.slice(0, spec.samples ?? available);
  const paths = entries.map((entry) => insideRoot(root, entry.file, where));

  const crop = cropOf(preprocessing);
  let geometry: { height: number; width: number; from: string } | undefined;
  let pixels = new Float32Array(0);
  const labels = Int32Array.from(entries, (entry) => entry.label);
  for (let start = 0; start < entries.length; start += DECODE_PARALLELISM) {
    const chunk = paths.slice(start, start + DECODE_PARALLELISM);
    const decoded = await Promise.all(
      chunk.map((path, index) => decodeImage(path, entries[start + index].file, preprocessing?.resize)),
    );
    decoded.forEach((image, index) => {
      const file = entries[start + index].file;
      const size: [number, number] = crop ?? [image.height, image.width];
      if (crop && (crop[0] > image.height || crop[1] > image.width)) {
        throw new TempestInputError(
          `preprocessing.centerCrop: ${crop[0]}x${crop[1]} is larger than image ${file} (${image.height}x${image.width} after resize); ` +
            'set preprocessing.resize to at least the crop size',
          'DataShapeMismatch',
        );
      }
      if (!geometry) {
        geometry = { height: size[0], width: size[1], from: file };
        pixels = new Float32Array(entries.length * 3 * size[0] * size[1]);
      } else if (size[0] !== geometry.height || size[1] !== geometry.width) {
        throw new TempestInputError(
          `${where}: image ${file} is ${image.height}x${image.width} but ${geometry.from} gave ${geometry.height}x${geometry.width}; ` +
            'every sample must have one size: set preprocessing.resize and preprocessing.centerCrop',
          'DataShapeMismatch',
        );
      }
      writePlanes(image, size, pixels, (start + index) * 3 * size[0] * size[1]);
    });
  }
  const { height, width } = geometry!;
  const steps = [
    `decoded to 8-bit sRGB with ${IMAGE_DECODER_ID} (EXIF orientation applied, alpha dropped)`,
    preprocessing?.resize !== undefined
      ? `shorter side resized to ${preprocessing.resize} (linear, antialiased)`
      : undefined,
    crop ? `center-cropped to ${crop[0]}x${crop[1]}` : undefined,
    'scaled to [0, 1], NCHW',
    listing.skipped.length > 0
      ? `subfolders not in dataset.classes skipped: ${listing.skipped.join(', ')}`
      : undefined,
  ].filter((step): step is string => step !== undefined);
  return {
    data: { inputs: makeTensor([entries.length, 3, height, width], pixels), labels },
    classes: listing.classes,
    files: entries.map((entry) => entry.file),
    fileListSha256: sha256Hex(
      new TextEncoder().encode(entries.map((entry) => `${entry.file}\t${entry.label}\n`).join('')),
    ),
    decoding: steps.join('; '),
  };
}
