import { z } from 'zod';

/**
 * Benchmark spec, version tempest/v1. Every field a user can write is declared here, strictly:
 * an unknown key is an error (a typo must not silently become a default). Fields may be added to
 * v1 only as optional ones, so every v1 spec ever written keeps parsing.
 */

export const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'use letters, digits, ".", "_" or "-" (at most 64, no spaces)');

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (a sha256)');

const filePath = z.string().min(1, 'must not be empty');

/** What a classifier's score output holds; decides how metrics, calibration and attack losses read it. */
export const OutputKindV1 = z.enum(['logits', 'probabilities', 'log-probabilities']);

const tensorName = z.string().min(1, 'name an input or output of the ONNX graph');

// The fields after sha256 are optional without defaults: a spec that leaves them out parses to the
// same object (and the same spec hash) as before they existed.
export const ModelSpecV1 = z
  .object({
    id: identifier.describe('Name used in results and reports'),
    path: filePath.describe('ONNX file, relative to the spec file'),
    sha256: sha256.optional().describe('Pinned sha256 of the ONNX file; a mismatch stops the run'),
    input: tensorName.optional().describe("The graph input to feed; default: the model's only float input"),
    output: tensorName
      .optional()
      .describe(
        'The graph output read as class scores; default: the first float output of shape [batch, classes]',
      ),
    outputKind: OutputKindV1.optional().describe(
      'What the scores are: logits, probabilities or log-probabilities; default: detected from the values',
    ),
    classNames: z
      .array(z.string().min(1))
      .min(2, 'a classifier has at least two classes')
      .optional()
      .describe('Class names in score order; default: the ZipMap class labels of the model, if any'),
  })
  .strict();

const samples = z.number().int().positive().max(10_000_000).optional();

export const BuiltinDatasetV1 = z
  .object({
    source: z.literal('builtin'),
    name: z.literal('mnist'),
    split: z.enum(['train', 'test']).default('test'),
    samples,
  })
  .strict();

export const CsvDatasetV1 = z
  .object({
    source: z.literal('csv'),
    path: filePath,
    labelColumn: z.string().min(1).default('label'),
    /** Per-sample shape the feature columns are reshaped to, e.g. [1, 28, 28]; default [features]. */
    shape: z.array(z.number().int().positive()).min(1).optional(),
    /** Feature columns holding integer category codes (tabular data); the others are numeric. */
    categorical: z.array(z.string().min(1)).optional(),
    /** Column of integer subgroup ids for subgroup metrics (it may also be a feature); default: the labels. */
    groupColumn: z.string().min(1).optional(),
    samples,
  })
  .strict();

export const NpyDatasetV1 = z
  .object({
    source: z.literal('npy'),
    inputs: filePath.describe('float array [N, ...]'),
    labels: filePath.describe('integer array [N]'),
    /** Feature indices (of [N, F] tabular inputs) holding integer category codes. */
    categorical: z.array(z.number().int().min(0)).optional(),
    /** Integer array [N] of subgroup ids for subgroup metrics; default: the labels. */
    groups: filePath.optional(),
    samples,
  })
  .strict();

/**
 * A folder of PNG/JPEG images, one subfolder per class, or a CSV manifest of `path,label` rows
 * (paths relative to the manifest; a label is a class name or an integer class index).
 */
export const ImageFolderDatasetV1 = z
  .object({
    source: z.literal('images'),
    path: filePath.optional().describe('Folder with one subfolder of images per class, relative to the spec'),
    manifest: filePath.optional().describe('CSV with columns path,label, relative to the spec'),
    /** Class order (index = position); default: sorted subfolder names, or sorted distinct manifest labels. */
    classes: z
      .array(z.string().min(1))
      .min(2, 'a classifier has at least two classes')
      .refine((classes) => new Set(classes).size === classes.length, 'class names must be distinct')
      .optional(),
    samples,
  })
  .strict()
  .refine((spec) => (spec.path === undefined) !== (spec.manifest === undefined), {
    message:
      'give exactly one of path (a class-per-subfolder image folder) or manifest (a CSV of path,label)',
    path: ['path'],
  });

export const DatasetSpecV1 = z.discriminatedUnion('source', [
  BuiltinDatasetV1,
  CsvDatasetV1,
  NpyDatasetV1,
  ImageFolderDatasetV1,
]);

const positiveSize = z.number().int().positive().max(16_384);
const perChannel = z.array(z.number().finite()).min(1).max(4);

/**
 * How images become the model's input. Decoding, resize and center crop happen when the data is
 * loaded, giving RGB pixels in [0, 1], NCHW: perturbations and attack epsilons act on those
 * (ImageNet-C and RobustBench semantics). Scale, mean/std normalization, layout and dtype are
 * folded into the model graph in front of its input, so inference, black-box queries and
 * gradients all see one model of pixel-space inputs.
 */
export const PreprocessingSpecV1 = z
  .object({
    /** Resize so that the shorter side has this many pixels (bilinear, antialiased), keeping the aspect ratio. */
    resize: positiveSize.optional(),
    /** Center crop to this size, [height, width] or one number for a square. */
    centerCrop: z.union([positiveSize, z.tuple([positiveSize, positiveSize])]).optional(),
    /** The model input's layout. */
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    /** The model input's element type. */
    dtype: z.enum(['float32', 'uint8']).default('float32'),
    /** Multiplies the [0, 1] pixels before normalization: 255 for models that take [0, 255] inputs. */
    scale: z.number().positive().finite().default(1),
    /** Per-channel mean and std, in the scaled units: input = (pixel * scale - mean) / std. */
    mean: perChannel.optional(),
    std: z.array(z.number().positive().finite()).min(1).max(4).optional(),
  })
  .strict()
  .refine((spec) => (spec.mean === undefined) === (spec.std === undefined), {
    message: 'give mean and std together',
    path: ['std'],
  })
  .refine((spec) => spec.mean === undefined || spec.mean.length === spec.std?.length, {
    message: 'mean and std need one value per channel each',
    path: ['std'],
  })
  .refine((spec) => spec.dtype === 'float32' || spec.mean === undefined, {
    message: 'a uint8 model input cannot carry mean/std normalization; normalization needs float32',
    path: ['dtype'],
  });

export const moduleVersion = z
  .string()
  .regex(/^\d+\.\d+\.\d+$/, 'expected an exact semantic version like 1.0.0')
  .optional()
  .describe('Pinned module version; the run stops if the installed module differs');

export const PerturbationSpecV1 = z
  .object({
    module: identifier.describe('Registered perturbation module name, e.g. gaussian_noise'),
    version: moduleVersion,
    severities: z.array(z.number().int().min(1).max(5)).min(1).optional(),
    params: z.record(z.string(), z.unknown()).optional().describe("Overrides of the module's parameters"),
    /** Parameter grid: every combination of the listed values (crossed with the severities) is a condition. */
    grid: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
  })
  .strict();

/** The 15 ImageNet-C benchmark corruptions (Hendrycks & Dietterich 2019), the mCE set. */
const IMAGENET_C = [
  'gaussian_noise',
  'shot_noise',
  'impulse_noise',
  'defocus_blur',
  'glass_blur',
  'motion_blur',
  'zoom_blur',
  'snow',
  'frost',
  'fog',
  'brightness',
  'contrast',
  'elastic_transform',
  'pixelate',
  'jpeg_compression',
] as const;

/** The published corruption suites a spec can name instead of listing modules one by one. */
export const CORRUPTION_SUITES = {
  'imagenet-c': IMAGENET_C,
  /** The 15 plus the 4 held-out validation corruptions. */
  'imagenet-c-all': [...IMAGENET_C, 'speckle_noise', 'gaussian_blur', 'spatter', 'saturate'],
} as const;

const suiteName = z.enum(['imagenet-c', 'imagenet-c-all']);

export const CorruptionsSpecV1 = z.union([
  suiteName,
  z
    .object({
      suite: suiteName,
      severities: z.array(z.number().int().min(1).max(5)).min(1).optional(),
      exclude: z.array(z.string()).optional(),
    })
    .strict(),
]);

export const UserModuleSpecV1 = z.union([
  z.object({ path: filePath.describe('JavaScript file exporting modules, relative to the spec') }).strict(),
  z.object({ package: z.string().min(1).describe('installed npm package exporting modules') }).strict(),
]);

export const ExecutionSpecV1 = z
  .object({
    concurrency: z.number().int().min(1).max(256).default(4),
    batchSize: z.number().int().min(1).max(65_536).default(250),
    intraOpThreads: z.number().int().min(1).max(64).default(1),
    interOpThreads: z.number().int().min(1).max(64).default(1),
    /**
     * Cells one activity evaluates in a row. Each activity costs server round trips (tens of ms on
     * a dev server); batching amortizes them for small cells. Default: enough batches for at least
     * eight per concurrent lane, at most 8 cells each.
     */
    cellsPerTask: z.number().int().min(1).max(64).optional(),
    /**
     * Sweeps with more cells than this run as shards of this many cells, each a child workflow,
     * so no workflow history grows with the sweep. Default 500.
     */
    cellsPerShard: z.number().int().min(1).max(2000).optional(),
    /** Shards one workflow run starts before continuing as new (sooner if the server suggests). Default 100. */
    shardsPerRun: z.number().int().min(1).max(1000).optional(),
    /**
     * Task queue for adversarial-attack cells (often 10-1000x the cost of a corruption cell), so
     * they can run on their own workers; absent: every cell uses the run's task queue.
     */
    attackTaskQueue: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/, 'a task queue name: letters, digits, ".", "_" or "-"')
      .optional(),
    heartbeatTimeoutSeconds: z.number().int().min(1).max(3600).default(30),
    cellTimeoutSeconds: z.number().int().min(10).max(86_400).default(1800),
  })
  .strict();

export const StatisticsSpecV1 = z
  .object({
    /** Confidence level of every interval. */
    level: z.number().gt(0.5).lt(1).default(0.95),
    /** Significance level of every test, after correction. */
    alpha: z.number().gt(0).lt(0.5).default(0.05),
    /** Correction across all comparisons of a run: Holm (family-wise) or Benjamini-Hochberg (FDR). */
    correction: z.enum(['holm', 'bh']).default('holm'),
    /** Smallest accuracy difference that matters in practice, for labelling comparisons. */
    minimumEffect: z.number().min(0).max(1).default(0.01),
    bootstrapResamples: z.number().int().min(200).max(100_000).default(1000),
    /** Flipped examples per (model, condition) saved as PNG for the report. */
    galleryExamples: z.number().int().min(0).max(64).default(6),
  })
  .strict();

export const DriftSpecV1 = z
  .object({
    /** An earlier run to compare against: its output folder or its results.json, relative to the spec. */
    baseline: filePath,
    /** Where alerts go besides results and report: a JSON-lines file and/or an HTTP endpoint (POST). */
    alerts: z.object({ file: filePath.optional(), url: z.url().optional() }).strict().optional(),
  })
  .strict();

/** The fields of a v1 spec; later versions extend them (see v2.ts). */
export const benchmarkFieldsV1 = {
  name: identifier,
  description: z.string().optional(),
  models: z
    .array(ModelSpecV1)
    .min(1, 'name at least one model')
    .superRefine((models, ctx) => {
      const seen = new Set<string>();
      models.forEach((model, index) => {
        if (seen.has(model.id)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'id'],
            message: `duplicate model id "${model.id}"`,
          });
        }
        seen.add(model.id);
      });
    }),
  dataset: DatasetSpecV1,
  /** Image preprocessing (optional, no default: leaving it out keeps the spec hash of older specs). */
  preprocessing: PreprocessingSpecV1.optional(),
  clean: z.boolean().default(true).describe('Evaluate each model on unperturbed inputs too'),
  /** User perturbation modules, loaded besides the built-ins. */
  modules: z.array(UserModuleSpecV1).default([]),
  /** Shorthand for a whole corruption suite at the given severities (default 1-5). */
  corruptions: CorruptionsSpecV1.optional(),
  perturbations: z.array(PerturbationSpecV1).default([]),
  /** The model that normalizes corruption errors (CE, mCE), as AlexNet does in ImageNet-C. */
  baseline: identifier.optional(),
  seeds: z
    .array(
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 32 - 1),
    )
    .min(1)
    .default([0])
    .refine((seeds) => new Set(seeds).size === seeds.length, 'seeds must be distinct'),
  metrics: z.array(z.literal('accuracy')).min(1).default(['accuracy']),
  statistics: StatisticsSpecV1.prefault({}),
  /** Baseline stability: re-execute this run's cells and alert on shifts beyond the baseline's intervals. */
  drift: DriftSpecV1.optional(),
  execution: ExecutionSpecV1.prefault({}),
};

/** Cross-field rules every spec version shares. */
export function withBenchmarkChecks<
  T extends z.ZodType<{
    clean: boolean;
    perturbations: readonly unknown[];
    corruptions?: unknown;
    baseline?: string;
    models: readonly { id: string }[];
    attacks?: readonly unknown[];
  }>,
>(schema: T) {
  return schema
    .refine(
      (spec) =>
        spec.clean ||
        spec.perturbations.length > 0 ||
        spec.corruptions !== undefined ||
        (spec.attacks?.length ?? 0) > 0,
      {
        message: 'nothing to evaluate: set clean: true or list at least one perturbation',
        path: ['perturbations'],
      },
    )
    .refine(
      (spec) => spec.baseline === undefined || spec.models.some((model) => model.id === spec.baseline),
      {
        message: 'baseline must be the id of one of the models',
        path: ['baseline'],
      },
    );
}

export const BenchmarkSpecV1 = withBenchmarkChecks(
  z.object({ apiVersion: z.literal('tempest/v1'), ...benchmarkFieldsV1 }).strict(),
);

export type BenchmarkSpecV1 = z.infer<typeof BenchmarkSpecV1>;
export type ModelSpecV1 = z.infer<typeof ModelSpecV1>;
export type DatasetSpecV1 = z.infer<typeof DatasetSpecV1>;
export type ImageFolderDatasetV1 = z.infer<typeof ImageFolderDatasetV1>;
export type PreprocessingSpecV1 = z.infer<typeof PreprocessingSpecV1>;
export type OutputKindV1 = z.infer<typeof OutputKindV1>;
export type PerturbationSpecV1 = z.infer<typeof PerturbationSpecV1>;
export type ExecutionSpecV1 = z.infer<typeof ExecutionSpecV1>;
export type StatisticsSpecV1 = z.infer<typeof StatisticsSpecV1>;
export type DriftSpecV1 = z.infer<typeof DriftSpecV1>;
