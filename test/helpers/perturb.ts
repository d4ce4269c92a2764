import type { FeatureInfo } from '../../core/data/dataset';
import { profileTabular } from '../../core/data/profile';
import type { PerturbationContext, PerturbationModule } from '../../core/perturb/module';
import { deriveKey, sampleStream } from '../../core/rng/keyed';
import type { LabeledData, Tensor } from '../../core/tensor/tensor';

/** A perturbation context for image modules: per-sample Philox streams keyed by `seed`. */
export function imageContext(seed: number, firstSampleIndex = 0): PerturbationContext {
  const key = deriveKey({ test: 'perturbation', seed });
  return {
    streamFor: (index) => sampleStream(key, index),
    firstSampleIndex,
    profile: () => {
      throw new Error('images have no tabular profile');
    },
  };
}

/** A perturbation context for tabular modules: streams keyed by `seed`, statistics of `data`. */
export function tabularContext(
  seed: number,
  data: LabeledData,
  features: readonly FeatureInfo[],
  firstSampleIndex = 0,
): PerturbationContext {
  const key = deriveKey({ test: 'perturbation', seed });
  const profile = profileTabular(data, features);
  return {
    streamFor: (index) => sampleStream(key, index),
    firstSampleIndex,
    features,
    profile: () => profile,
  };
}

/** Apply a module at a severity of its published scale. */
export function applyAtSeverity(
  module: PerturbationModule,
  input: Tensor,
  severity: number,
  context: PerturbationContext,
): Tensor {
  return module.apply(input, module.severityParams!(severity), context);
}

export const bytesOf = (tensor: Tensor): Uint8Array =>
  new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);

/** Mean absolute difference between two tensors of the same shape. */
export function meanAbsoluteChange(a: Tensor, b: Tensor): number {
  let total = 0;
  for (let i = 0; i < a.data.length; i++) total += Math.abs(a.data[i] - b.data[i]);
  return total / a.data.length;
}

/**
 * Synthetic RGB images [n, 3, h, w] in [0, 1]: smooth colour gradients with a bright disc and a
 * dark bar, so colour, blur and geometric corruptions all have structure to act on.
 */
export function syntheticRgb(n: number, height: number, width: number): Tensor {
  const data = new Float32Array(n * 3 * height * width);
  for (let s = 0; s < n; s++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const disc = (y - height / 2 - s) ** 2 + (x - width / 3) ** 2 < (height / 5) ** 2;
        const bar = Math.abs(x - (2 * width) / 3) < width / 12;
        const base = [x / (width - 1), y / (height - 1), 0.5 + 0.4 * Math.sin((x + y + s) / 5)];
        for (let c = 0; c < 3; c++) {
          const value = disc ? 0.95 - 0.1 * c : bar ? 0.05 + 0.05 * c : base[c] * 0.8 + 0.1;
          data[((s * 3 + c) * height + y) * width + x] = value;
        }
      }
    }
  }
  return { dims: [n, 3, height, width], data };
}
