import { PNG, type ColorType, type PackerOptions } from 'pngjs';
import { TempestInputError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import type { FlipExample } from './failure-modes';

/**
 * The failure gallery: each flipped sample as one PNG, clean input on the left, perturbed input
 * on the right, upscaled by an integer factor with nearest neighbour so that every model-input
 * pixel stays a crisp square (smoothing would hide exactly the pixel-level changes a perturbation
 * makes).
 */

export interface GalleryOptions {
  /** The image is scaled by the smallest integer that makes it at least this tall (never below 1x). */
  readonly minHeight?: number;
  /** Width of the separator column between the two panels, in output pixels. */
  readonly separatorWidth?: number;
  /** Separator intensity 0..255; mid-grey stands out on both dark (MNIST) and light images. */
  readonly separatorValue?: number;
}

export interface GalleryImage {
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly scale: number;
  readonly caption: FlipExample;
}

const DEFAULTS = { minHeight: 96, separatorWidth: 2, separatorValue: 128 } as const;

/**
 * Fixed encoder settings: same pixels give the same bytes. Filter 'Up' (2) because upscaled rows
 * repeat, which it turns into zero runs that deflate compresses to almost nothing. The bytes also
 * depend on the zlib bundled with Node (process.versions.zlib), so on the Node version that run
 * provenance records.
 */
const ENCODER: PackerOptions = {
  bitDepth: 8,
  deflateLevel: 9,
  deflateStrategy: 0,
  deflateChunkSize: 32 * 1024,
  filterType: 2,
};

/** [0, 1] float to an 8-bit intensity, clamping out-of-range values and mapping NaN to 0. */
const toByte = (value: number): number => (value > 0 ? (value >= 1 ? 255 : Math.round(value * 255)) : 0);

function imageLayout(clean: Tensor, perturbed: Tensor) {
  const [count, channels, height, width] = clean.dims;
  if (clean.dims.length !== 4 || (channels !== 1 && channels !== 3) || height < 1 || width < 1) {
    throw new TempestInputError(
      `the gallery renders NCHW images with 1 (grey) or 3 (RGB) channels, got dims [${clean.dims.join(', ')}]`,
      'InputKindMismatch',
    );
  }
  if (perturbed.dims.length !== 4 || perturbed.dims.some((dim, axis) => dim !== clean.dims[axis])) {
    throw new TempestInputError(
      `clean images are [${clean.dims.join(', ')}] but perturbed images are [${perturbed.dims.join(', ')}]: ` +
        'the gallery pairs each sample with its own perturbed version',
      'ShapeMismatch',
    );
  }
  return { count, channels, height, width };
}

/** One side-by-side PNG of sample `index` from the two image batches. */
export function renderFlipPair(
  clean: Tensor,
  perturbed: Tensor,
  index: number,
  options: GalleryOptions = {},
): { png: Uint8Array; width: number; height: number; scale: number } {
  const { count, channels, height, width } = imageLayout(clean, perturbed);
  const { minHeight, separatorWidth, separatorValue } = { ...DEFAULTS, ...options };
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new TempestInputError(
      `gallery sample ${index} is outside the ${count} images given`,
      'ShapeMismatch',
    );
  }
  const validOptions =
    Number.isInteger(separatorWidth) &&
    separatorWidth >= 0 &&
    minHeight >= 0 &&
    Number.isInteger(separatorValue) &&
    separatorValue >= 0 &&
    separatorValue <= 255;
  if (!validOptions) {
    throw new TempestInputError(
      'gallery options need an integer separatorWidth >= 0, minHeight >= 0 and an integer separatorValue in [0, 255], ' +
        `got ${separatorWidth}, ${minHeight} and ${separatorValue}`,
      'InvalidMetricParams',
    );
  }
  const scale = Math.max(1, Math.ceil(minHeight / height));
  const panelWidth = width * scale;
  const outWidth = 2 * panelWidth + separatorWidth;
  const outHeight = height * scale;
  const rowBytes = outWidth * channels;
  const pixels = Buffer.alloc(rowBytes * outHeight);
  const plane = height * width;
  const panels = [
    { data: clean.data, left: 0 },
    { data: perturbed.data, left: panelWidth + separatorWidth },
  ];
  for (let y = 0; y < height; y++) {
    // Build the first output row of source row y, then copy it `scale - 1` times below.
    const rowStart = y * scale * rowBytes;
    pixels.fill(
      separatorValue,
      rowStart + panelWidth * channels,
      rowStart + (panelWidth + separatorWidth) * channels,
    );
    for (const { data, left } of panels) {
      for (let x = 0; x < width; x++) {
        for (let channel = 0; channel < channels; channel++) {
          const value = toByte(data[(index * channels + channel) * plane + y * width + x]);
          for (let repeat = 0; repeat < scale; repeat++) {
            pixels[rowStart + (left + x * scale + repeat) * channels + channel] = value;
          }
        }
      }
    }
    for (let repeat = 1; repeat < scale; repeat++)
      pixels.copy(pixels, rowStart + repeat * rowBytes, rowStart, rowStart + rowBytes);
  }
  const colorType: ColorType = channels === 1 ? 0 : 2;
  const image = new PNG({ width: outWidth, height: outHeight });
  image.data = pixels;
  const encoded = PNG.sync.write(image, {
    ...ENCODER,
    colorType,
    inputColorType: colorType,
    inputHasAlpha: false,
  });
  // Copy out of Buffer's shared allocation pool so callers own exactly these bytes.
  return { png: new Uint8Array(encoded), width: outWidth, height: outHeight, scale };
}

/**
 * One PNG per example, in the order given (e.g. `FlipAnalysis.gallery`). `clean` and `perturbed`
 * hold the cell's images in sample order, float NCHW in [0, 1], so example.index addresses both.
 */
export function renderFlipGallery(
  clean: Tensor,
  perturbed: Tensor,
  examples: readonly FlipExample[],
  options: GalleryOptions = {},
): GalleryImage[] {
  return examples.map((caption) => ({
    ...renderFlipPair(clean, perturbed, caption.index, options),
    caption,
  }));
}
