import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { mapImages } from './layout';

/** ImageNet-C shot_noise: photon count of a white pixel per severity (imagecorruptions 1.1.2). */
const LAMBDA_BY_SEVERITY = [60, 25, 12, 5, 3] as const;

/**
 * The sequential search starts from P(0) = e^-rate, which underflows to 0 for rates above ~745;
 * 500 leaves room and is far beyond the reference's largest rate (60).
 */
const MAX_LAMBDA = 500;

/** Number of distinct 32-bit words. */
const WORD_RANGE = 2 ** 32;

const ShotNoiseParams = z
  .object({
    lambda: z
      .number()
      .positive()
      .max(MAX_LAMBDA, `lambda above ${MAX_LAMBDA} is not supported (the published severities use 3 to 60)`),
  })
  .strict();
type ShotNoiseParams = z.infer<typeof ShotNoiseParams>;

/**
 * Photon (shot) noise: a pixel of value x becomes k / lambda with k ~ Poisson(x * lambda), so the
 * noise is signal-dependent (variance x / lambda) and fewer photons mean more noise. Follows
 * ImageNet-C's shot_noise (Hendrycks & Dietterich 2019; imagecorruptions 1.1.2, lambda
 * 60 25 12 5 3 for severities 1-5).
 *
 * Sampling: inverse CDF by sequential search, on one 32-bit word w of the image's Philox stream
 * per value in CHW order (element i always uses word i): k is the smallest count with
 * P(K <= k) > u, u = (w + 1/2) / 2^32. So each probability is exact to 2^-32, no library
 * generator or hidden state is involved, and the stream costs one word per value instead of a
 * 53-bit uniform's two. Same distribution as the reference's NumPy Poisson, different
 * draws (NumPy's global generator there is unseeded, so there are no reference draws to match).
 * Deviation: the output stays float32 instead of being re-quantized to uint8, so values are
 * multiples of 1 / lambda, not of 1/255.
 */
export const shotNoise: PerturbationModule<ShotNoiseParams> = {
  name: 'shot_noise',
  version: '1.0.0',
  description: 'Poisson photon noise: x -> Poisson(x * lambda) / lambda, clipped to [0, 1]',
  reference: 'Hendrycks & Dietterich 2019 (ImageNet-C), lambda = 60 25 12 5 3 for severities 1-5',
  inputKind: 'image',
  stochastic: true,
  params: ShotNoiseParams,
  severityParams(severity: number): ShotNoiseParams {
    return { lambda: LAMBDA_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const { lambda } = params;
    const tables = new LevelCdfTables(lambda);
    return mapImages(batch, context, 'shot_noise', (image, output, stream) => {
      // The same words as one nextUint32() per value, drawn in bulk.
      const words = stream.fillUint32(new Uint32Array(image.data.length));
      for (let i = 0; i < image.data.length; i++) {
        const u = (words[i] + 0.5) / WORD_RANGE;
        const value = image.data[i];
        const level = Math.round(value * 255);
        // Pixels on the 8-bit grid (decoded images) search their level's precomputed CDF.
        const count =
          LEVELS[level] === value ? tables.search(level, u) : poissonInverseCdf(value * lambda, u);
        output[i] = count / lambda;
      }
    });
  },
};

/** The float32 value of 8-bit level k, k / 255: how decoded images hold their pixels. */
const LEVELS = Float32Array.from({ length: 256 }, (_, level) => level / 255);

/**
 * poissonInverseCdf for the rates of the 256 8-bit levels, by binary search in the running sums
 * that its loop would compute, built once per level with the same operations in the same
 * order: the same float values, so the same counts, at a few comparisons instead of a loop of
 * about `rate` steps per pixel.
 */
class LevelCdfTables {
  private readonly cumulative = new Array<Float64Array | undefined>(256);

  constructor(private readonly lambda: number) {}

  search(level: number, u: number): number {
    const cumulative = (this.cumulative[level] ??= this.build(LEVELS[level] * this.lambda));
    // The loop stops at the first k with u < cumulative[k], or at the table's last entry (where
    // the term underflowed to 0, or the sum passed every u a 32-bit word can give).
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (u < cumulative[middle]) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  private build(rate: number): Float64Array {
    if (rate === 0) return Float64Array.of(Infinity);
    const sums: number[] = [];
    let count = 0;
    let term = Math.exp(-rate);
    let cumulative = term;
    sums.push(cumulative);
    while (cumulative <= MAX_UNIFORM && term > 0) {
      count++;
      term *= rate / count;
      cumulative += term;
      sums.push(cumulative);
    }
    return Float64Array.from(sums);
  }
}

/** The largest u the sampler draws, (2^32 - 1 + 0.5) / 2^32. */
const MAX_UNIFORM = (WORD_RANGE - 0.5) / WORD_RANGE;

/**
 * The smallest k with P(K <= k) > u for K ~ Poisson(rate) and u in (0, 1). The loop also stops
 * if the term underflows to 0, which can only happen when rounding kept the running sum just
 * below a u within ~1e-16 of 1.
 */
function poissonInverseCdf(rate: number, u: number): number {
  if (rate === 0) return 0;
  let count = 0;
  let term = Math.exp(-rate);
  let cumulative = term;
  while (u >= cumulative && term > 0) {
    count++;
    term *= rate / count;
    cumulative += term;
  }
  return count;
}
