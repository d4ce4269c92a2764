import { TempestInputError } from '../../errors';
import type { PhiloxStream } from '../../rng/philox';
import { makeTensor, type Tensor } from '../../tensor/tensor';
import type { PerturbationContext } from '../module';

/** One image of a batch: a CHW float view with values in [0, 1] (channels 1 = gray, 3 = RGB). */
export interface ImageSample {
  readonly data: Float32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Index of this image in the dataset: the key of its random stream. */
  readonly sampleIndex: number;
}

export interface ImageShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** The per-image shape of an NCHW batch; image modules accept 1 (gray) or 3 (RGB) channels. */
export function imageShapeOf(batch: Tensor, moduleName: string): ImageShape {
  const [, channels, height, width] = batch.dims;
  if (batch.dims.length !== 4 || (channels !== 1 && channels !== 3)) {
    throw new TempestInputError(
      `${moduleName} needs images as [N, C, H, W] with C = 1 (gray) or 3 (RGB), got [${batch.dims.join(', ')}]; ` +
        'give the dataset a per-sample shape such as [1, 28, 28]',
      'InputKindMismatch',
    );
  }
  return { channels, height, width };
}

/**
 * Apply `perturbImage` to every image of the batch, writing into a fresh output tensor. Each
 * image gets its own random stream, keyed by its dataset index, so results never depend on
 * batching. The output is clipped to [0, 1] afterwards, as every ImageNet-C corruption clips.
 */
export function mapImages(
  batch: Tensor,
  context: PerturbationContext,
  moduleName: string,
  perturbImage: (image: ImageSample, output: Float32Array, stream: PhiloxStream) => void,
): Tensor {
  const { channels, height, width } = imageShapeOf(batch, moduleName);
  const output = makeTensor(batch.dims);
  const perImage = channels * height * width;
  for (let sample = 0; sample < batch.dims[0]; sample++) {
    const offset = sample * perImage;
    const sampleIndex = context.firstSampleIndex + sample;
    const target = output.data.subarray(offset, offset + perImage);
    perturbImage(
      { data: batch.data.subarray(offset, offset + perImage), channels, height, width, sampleIndex },
      target,
      context.streamFor(sampleIndex),
    );
    clipUnit(target);
  }
  return output;
}

/** Call `perPlane` with each channel plane of an image and the matching plane of its output. */
export function forEachPlane(
  image: ImageSample,
  output: Float32Array,
  perPlane: (input: Float32Array, output: Float32Array, channel: number) => void,
): void {
  const pixels = image.height * image.width;
  for (let channel = 0; channel < image.channels; channel++) {
    const start = channel * pixels;
    perPlane(image.data.subarray(start, start + pixels), output.subarray(start, start + pixels), channel);
  }
}

/** Clip in place to [0, 1]; NaN cannot arise from the modules, so it is not handled. */
export function clipUnit(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    values[i] = value < 0 ? 0 : value > 1 ? 1 : value;
  }
}
