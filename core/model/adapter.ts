import { onnx } from 'onnx-proto';
import type { ModelSpecV1, OutputKindV1, PreprocessingSpecV1 } from '../../spec';
import { TempestInputError } from '../errors';
import { sha256Hex } from '../hash';
import { encodeAttribute, encodeInitializer } from './onnx-builder';

/**
 * The model adapter: turns an ONNX classifier as exporters write it into the one shape the rest
 * of Tempest reads, one float input of pixel-space (or feature) samples and one [batch, classes]
 * score output, by graph surgery on the model itself:
 * - the spec's (or the only) input and the spec's (or the first [batch, classes] float) output are
 *   kept, every other output dropped, so onnxruntime never has to return an int64 label or a
 *   seq(map) it cannot hand to Node;
 * - a ZipMap (skl2onnx, onnxmltools) is removed and its probability tensor becomes the output;
 * - the spec's preprocessing (scale, mean/std, layout, dtype) becomes nodes in front of the input,
 *   so perturbations and attack budgets stay in [0, 1] pixel space while the model still gets what
 *   it was trained on, and white-box gradients flow through the normalization;
 * - external-data tensors are inlined, so one blob (and one hash) holds all the weights.
 * A model that needs none of this keeps its bytes, so its cell keys do not change.
 */

export type OutputKind = OutputKindV1;

/** What the adapter chose and did; recorded in the plan and in provenance. */
export interface ModelIo {
  readonly input: string;
  readonly output: string;
  /** Declared in the spec, or implied (a ZipMap holds probabilities); absent: detected from the values. */
  readonly outputKind?: OutputKind;
  readonly classNames?: readonly string[];
  /** Each change made to the graph, in words. */
  readonly adaptations: readonly string[];
}

export interface AdaptedModel {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  /** False when the model is used as it is (bytes and hash are the file's). */
  readonly changed: boolean;
  readonly io: ModelIo;
}

export interface AdaptOptions {
  /** The file, for messages. */
  readonly label: string;
  /** The spec field of this model, e.g. models[0]. */
  readonly where: string;
  readonly spec?: Pick<ModelSpecV1, 'input' | 'output' | 'outputKind' | 'classNames'>;
  readonly preprocessing?: PreprocessingSpecV1;
  /** Per-sample dims of the dataset ([3, H, W] for images): the folded input's static shape. */
  readonly sampleDims?: readonly number[];
  /** Bytes of an external-data file named in the model, relative to the model's folder. */
  readonly readExternal?: (location: string) => Uint8Array;
}

const DataType = onnx.TensorProto.DataType;
const ML_DOMAIN = 'ai.onnx.ml';

const ELEMENT_NAMES: Record<number, string> = {
  [DataType.FLOAT]: 'float32',
  [DataType.UINT8]: 'uint8',
  [DataType.INT8]: 'int8',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.STRING]: 'string',
  [DataType.BOOL]: 'bool',
  [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64',
};

/** A value's type as a user reads it: float32 [N, 3], int64 [N], seq(map(int64, float32)). */
export function describeType(type: onnx.ITypeProto | null | undefined): string {
  if (type?.tensorType) {
    const element = ELEMENT_NAMES[type.tensorType.elemType ?? 0] ?? `type ${type.tensorType.elemType}`;
    const dims = (type.tensorType.shape?.dim ?? []).map((dim) =>
      dim.dimParam
        ? dim.dimParam
        : dim.dimValue !== undefined && dim.dimValue !== null
          ? String(dim.dimValue)
          : '?',
    );
    return `${element} [${dims.join(', ')}]`;
  }
  if (type?.sequenceType) return `seq(${describeType(type.sequenceType.elemType)})`;
  if (type?.mapType) {
    const key = ELEMENT_NAMES[type.mapType.keyType ?? 0] ?? 'key';
    return `map(${key}, ${describeType(type.mapType.valueType)})`;
  }
  return 'unknown type';
}

const isFloatTensor = (value: onnx.IValueInfoProto) => value.type?.tensorType?.elemType === DataType.FLOAT;
const rankOf = (value: onnx.IValueInfoProto) => value.type?.tensorType?.shape?.dim?.length;

function listValues(values: readonly onnx.IValueInfoProto[]): string {
  return values.map((value) => `"${value.name}" (${describeType(value.type)})`).join(', ');
}

function decodeModel(bytes: Uint8Array, label: string, where: string): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new TempestInputError(
      `${where}.path: ${label} is not a loadable ONNX model (${(error as Error).message}); export the model to .onnx (torch.onnx.export, skl2onnx, tf2onnx)`,
      'InvalidModel',
    );
  }
  if (!model.graph) throw new TempestInputError(`${where}.path: ${label} has no graph`, 'InvalidModel');
  return model;
}

/** Replace external-data references by the bytes they point to. Returns whether any were inlined. */
function inlineExternalData(model: onnx.ModelProto, options: AdaptOptions): boolean {
  const graph = model.graph as onnx.GraphProto;
  const tensors: onnx.ITensorProto[] = [
    ...graph.initializer,
    ...graph.node.flatMap((node) =>
      (node.attribute ?? []).flatMap((attribute) => (attribute.t ? [attribute.t] : [])),
    ),
  ];
  let inlined = false;
  for (const tensor of tensors) {
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const entries = new Map((tensor.externalData ?? []).map((entry) => [entry.key ?? '', entry.value ?? '']));
    const location = entries.get('location');
    if (!location) {
      throw new TempestInputError(
        `${options.where}.path: tensor "${tensor.name}" of ${options.label} is stored externally without a location`,
        'InvalidModel',
      );
    }
    if (!options.readExternal) {
      throw new TempestInputError(
        `${options.where}.path: ${options.label} keeps tensor "${tensor.name}" in the external file "${location}", which cannot be read here`,
        'InvalidModel',
      );
    }
    const file = options.readExternal(location);
    const offset = Number(entries.get('offset') ?? 0);
    const length = entries.has('length') ? Number(entries.get('length')) : file.length - offset;
    if (offset + length > file.length) {
      throw new TempestInputError(
        `${options.where}.path: tensor "${tensor.name}" of ${options.label} needs bytes ${offset}-${offset + length} of "${location}", which has ${file.length}`,
        'InvalidModel',
      );
    }
    tensor.rawData = file.slice(offset, offset + length);
    tensor.externalData = [];
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    inlined = true;
  }
  return inlined;
}

function chooseInput(graph: onnx.GraphProto, options: AdaptOptions): onnx.IValueInfoProto {
  const initializers = new Set(graph.initializer.map((tensor) => tensor.name));
  const inputs = graph.input.filter((value) => !initializers.has(value.name));
  const wanted = options.spec?.input;
  if (wanted !== undefined) {
    const input = inputs.find((value) => value.name === wanted);
    if (!input) {
      throw new TempestInputError(
        `${options.where}.input: ${options.label} has no input "${wanted}"; its inputs are ${listValues(inputs)}`,
        'InvalidModel',
      );
    }
    if (inputs.length > 1) {
      throw new TempestInputError(
        `${options.where}.input: ${options.label} has ${inputs.length} inputs (${listValues(inputs)}); Tempest feeds single-input classifiers, so the others would have no value`,
        'InvalidModel',
      );
    }
    return input;
  }
  if (inputs.length !== 1) {
    throw new TempestInputError(
      inputs.length === 0
        ? `${options.label} has no inputs`
        : `${options.where}: ${options.label} has ${inputs.length} inputs (${listValues(inputs)}); Tempest feeds single-input classifiers: export the model with one input`,
      'InvalidModel',
    );
  }
  return inputs[0];
}

interface ChosenOutput {
  /** The tensor read as scores. */
  readonly value: onnx.IValueInfoProto;
  /** The ZipMap node removed to reach it, if any. */
  readonly zipMap?: onnx.INodeProto;
}

/** The ValueInfo of a ZipMap's probability input: float [batch, classes]. */
function zipMapInput(zipMap: onnx.INodeProto): onnx.IValueInfoProto {
  const labels = (zipMap.attribute ?? []).find((attribute) => attribute.name?.startsWith('classlabels_'));
  const classes = (labels?.strings?.length ?? 0) + (labels?.ints?.length ?? 0);
  return {
    name: zipMap.input![0],
    type: {
      tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: classes }] } },
    },
  };
}

function chooseOutput(graph: onnx.GraphProto, options: AdaptOptions): ChosenOutput {
  const outputs = graph.output;
  const zipMapOf = (name: string) =>
    graph.node.find(
      (node) => node.opType === 'ZipMap' && node.domain === ML_DOMAIN && node.output?.[0] === name,
    );
  const viaZipMap = (value: onnx.IValueInfoProto): ChosenOutput | undefined => {
    const zipMap = zipMapOf(value.name!);
    return zipMap ? { value: zipMapInput(zipMap), zipMap } : undefined;
  };
  const wanted = options.spec?.output;
  if (wanted !== undefined) {
    const output = outputs.find((value) => value.name === wanted);
    // The probability tensor a ZipMap reads may be named too (it is what Tempest reports it reads).
    const zipMapFed = graph.node.find(
      (node) => node.opType === 'ZipMap' && node.domain === ML_DOMAIN && node.input?.[0] === wanted,
    );
    if (!output && zipMapFed && outputs.some((value) => value.name === zipMapFed.output?.[0])) {
      return { value: zipMapInput(zipMapFed), zipMap: zipMapFed };
    }
    if (!output) {
      throw new TempestInputError(
        `${options.where}.output: ${options.label} has no output "${wanted}"; its outputs are ${listValues(outputs)}`,
        'InvalidModel',
      );
    }
    const zipped = viaZipMap(output);
    if (zipped) return zipped;
    if (!isFloatTensor(output) || rankOf(output) !== 2) {
      const scores =
        outputs.find((value) => isFloatTensor(value) && rankOf(value) === 2) ??
        outputs.find((value) => zipMapOf(value.name ?? '') !== undefined);
      throw new TempestInputError(
        `${options.where}.output: output "${wanted}" of ${options.label} is ${describeType(output.type)}, not float32 scores [batch, classes]` +
          (output.type?.tensorType?.elemType === DataType.INT64
            ? ' (int64 values are predicted class labels)'
            : '') +
          (scores
            ? `; set ${options.where}.output: ${scores.name}`
            : `; its outputs are ${listValues(outputs)}`),
        'InvalidModel',
      );
    }
    return { value: output };
  }
  const scores = outputs.find((value) => isFloatTensor(value) && rankOf(value) === 2);
  if (scores) return { value: scores };
  // A rank-unknown float output (some exporters leave shapes out) is taken when it is the only float one.
  const floats = outputs.filter((value) => isFloatTensor(value) && rankOf(value) === undefined);
  if (floats.length === 1) return { value: floats[0] };
  for (const output of outputs) {
    const zipped = viaZipMap(output);
    if (zipped) return zipped;
  }
  throw new TempestInputError(
    `${options.where}: ${options.label} has no float32 output of shape [batch, classes] (its outputs are ${listValues(outputs)}); ` +
      `name the score output with ${options.where}.output`,
    'InvalidModel',
  );
}

/** Class names a converter wrote into the graph: ZipMap's labels, else an ai.onnx.ml classifier's. */
function classNamesInGraph(
  graph: onnx.GraphProto,
  zipMap: onnx.INodeProto | undefined,
): string[] | undefined {
  const holders = zipMap
    ? [zipMap]
    : graph.node.filter((node) => node.domain === ML_DOMAIN && node.opType?.endsWith('Classifier'));
  for (const node of holders) {
    const strings = (node.attribute ?? []).find(
      (attribute) => attribute.name === 'classlabels_strings',
    )?.strings;
    if (strings && strings.length > 0) return strings.map((bytes) => new TextDecoder().decode(bytes));
    const ints = (node.attribute ?? []).find(
      (attribute) => attribute.name === 'classlabels_ints' || attribute.name === 'classlabels_int64s',
    )?.ints;
    // Integer labels 0..C-1 are just the class indices: names only when they say more.
    if (ints && ints.some((label, index) => Number(label) !== index)) return ints.map(String);
  }
  return undefined;
}

/** Keep only the nodes the output depends on (a dropped label output's ArgMax, a ZipMap). */
function pruneTo(graph: onnx.GraphProto, output: string): void {
  const producer = new Map<string, onnx.INodeProto>();
  for (const node of graph.node) for (const name of node.output ?? []) producer.set(name, node);
  const needed = new Set<onnx.INodeProto>();
  const stack = [output];
  while (stack.length > 0) {
    const node = producer.get(stack.pop()!);
    if (!node || needed.has(node)) continue;
    needed.add(node);
    stack.push(...(node.input ?? []));
    // Subgraphs (If/Loop bodies) may read outer values.
    for (const attribute of node.attribute ?? []) {
      for (const sub of [attribute.g, ...(attribute.graphs ?? [])]) {
        for (const inner of sub?.node ?? []) stack.push(...(inner.input ?? []));
      }
    }
  }
  graph.node = graph.node.filter((node) => needed.has(node));
}

function folding(preprocessing: PreprocessingSpecV1 | undefined): boolean {
  if (!preprocessing) return false;
  return (
    preprocessing.scale !== 1 ||
    preprocessing.mean !== undefined ||
    preprocessing.layout !== 'NCHW' ||
    preprocessing.dtype !== 'float32'
  );
}

function uniqueName(graph: onnx.GraphProto, base: string): string {
  const taken = new Set<string>([
    ...graph.input.map((value) => value.name ?? ''),
    ...graph.initializer.map((tensor) => tensor.name ?? ''),
    ...graph.node.flatMap((node) => node.output ?? []),
  ]);
  let name = base;
  for (let index = 1; taken.has(name); index++) name = `${base}_${index}`;
  return name;
}

/**
 * Put (pixels * scale - mean) / std, the layout transpose and the dtype cast in front of the
 * model's input. The new input takes [N, C, H, W] floats in [0, 1]: what datasets hold and what
 * perturbations and attack budgets act on.
 */
function foldPreprocessing(
  graph: onnx.GraphProto,
  input: onnx.IValueInfoProto,
  preprocessing: PreprocessingSpecV1,
  options: AdaptOptions,
): string[] {
  const sampleDims = options.sampleDims;
  if (!sampleDims || sampleDims.length !== 3) {
    throw new TempestInputError(
      `preprocessing: scale, mean/std, layout and dtype apply to image data [N, C, H, W]; the dataset gives samples [${(sampleDims ?? []).join(', ')}]`,
      'PreprocessingNotApplicable',
    );
  }
  const [channels, height, width] = sampleDims;
  const modelDims = (input.type?.tensorType?.shape?.dim ?? []).map((dim) =>
    dim.dimValue !== undefined && dim.dimValue !== null && Number(dim.dimValue) > 0
      ? Number(dim.dimValue)
      : -1,
  );
  const expected = preprocessing.layout === 'NHWC' ? [height, width, channels] : [channels, height, width];
  const fits =
    modelDims.length === 4 && modelDims.slice(1).every((dim, index) => dim === -1 || dim === expected[index]);
  if (!fits) {
    throw new TempestInputError(
      `preprocessing.layout: the model input "${input.name}" of ${options.label} is ${describeType(input.type)}, but ${preprocessing.layout} images of ` +
        `${channels}x${height}x${width} give [N, ${expected.join(', ')}]` +
        (modelDims.length === 4 && modelDims[3] === channels && preprocessing.layout === 'NCHW'
          ? '; set preprocessing.layout: NHWC'
          : '; check preprocessing.resize / centerCrop'),
      'ShapeMismatch',
    );
  }
  for (const [field, values] of [
    ['mean', preprocessing.mean],
    ['std', preprocessing.std],
  ] as const) {
    if (values && values.length !== channels && values.length !== 1) {
      throw new TempestInputError(
        `preprocessing.${field}: ${values.length} values for ${channels} channels; give one per channel`,
        'InvalidSpec',
      );
    }
  }
  const wantedType = preprocessing.dtype === 'uint8' ? DataType.UINT8 : DataType.FLOAT;
  if (input.type?.tensorType?.elemType !== wantedType) {
    throw new TempestInputError(
      `preprocessing.dtype: the model input "${input.name}" of ${options.label} is ${describeType(input.type)}; set preprocessing.dtype: ${ELEMENT_NAMES[input.type?.tensorType?.elemType ?? 0] ?? '?'}`,
      'ShapeMismatch',
    );
  }
  const pixels = uniqueName(graph, 'pixels');
  const nodes: onnx.INodeProto[] = [];
  const steps: string[] = [];
  let current = pixels;
  const next = (opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = []) => {
    // Numbered in order, so the names are unique among themselves; uniqueName avoids the graph's.
    const output = uniqueName(graph, `tempest_preprocess_${nodes.length}`);
    nodes.push({
      opType,
      input: inputs,
      output: [output],
      name: `tempest_preprocess_${nodes.length}_${opType}`,
      attribute: attributes,
    });
    current = output;
  };
  const constant = (name: string, values: readonly number[], dims: number[]) => {
    const unique = uniqueName(graph, name);
    graph.initializer.push(
      onnx.TensorProto.fromObject(encodeInitializer({ name: unique, dims, data: Float32Array.from(values) })),
    );
    return unique;
  };
  const perChannel = (values: readonly number[]) =>
    values.length === 1 ? Array<number>(channels).fill(values[0]) : [...values];
  if (preprocessing.scale !== 1) {
    next('Mul', [current, constant('tempest_scale', [preprocessing.scale], [])]);
    steps.push(`x ${preprocessing.scale}`);
  }
  if (preprocessing.mean && preprocessing.std) {
    next('Sub', [current, constant('tempest_mean', perChannel(preprocessing.mean), [1, channels, 1, 1])]);
    next('Div', [current, constant('tempest_std', perChannel(preprocessing.std), [1, channels, 1, 1])]);
    steps.push(`(x - [${preprocessing.mean.join(', ')}]) / [${preprocessing.std.join(', ')}]`);
  }
  if (preprocessing.layout === 'NHWC') {
    next('Transpose', [current], [encodeAttribute('perm', { ints: [0, 2, 3, 1] }, 'tempest preprocessing')]);
    steps.push('NCHW -> NHWC');
  }
  if (preprocessing.dtype === 'uint8') {
    next('Round', [current]);
    next('Clip', [current, constant('tempest_zero', [0], []), constant('tempest_max', [255], [])]);
    next('Cast', [current], [encodeAttribute('to', { int: DataType.UINT8 }, 'tempest preprocessing')]);
    steps.push('round and cast to uint8');
  }
  // The last node writes the original input's name, so the original graph reads it unchanged.
  nodes[nodes.length - 1].output = [input.name!];
  graph.node = [...nodes.map((node) => onnx.NodeProto.fromObject(node)), ...graph.node];
  const batch = input.type?.tensorType?.shape?.dim?.[0] ?? { dimParam: 'N' };
  graph.input = [
    onnx.ValueInfoProto.fromObject({
      name: pixels,
      type: {
        tensorType: {
          elemType: DataType.FLOAT,
          shape: { dim: [batch, { dimValue: channels }, { dimValue: height }, { dimValue: width }] },
        },
      },
    }),
    ...graph.input.filter((value) => value.name !== input.name),
  ];
  return [
    `preprocessing folded into the graph: pixels [0, 1] NCHW -> ${steps.join(' -> ')} -> "${input.name}"`,
  ];
}

/** Adapt a classifier (see the module comment). Pure: the same bytes and options give the same result. */
export function adaptModel(bytes: Uint8Array, options: AdaptOptions): AdaptedModel {
  const model = decodeModel(bytes, options.label, options.where);
  const graph = model.graph! as onnx.GraphProto;
  const adaptations: string[] = [];
  if (inlineExternalData(model, options)) adaptations.push('external-data tensors inlined');

  const input = chooseInput(graph, options);
  const chosen = chooseOutput(graph, options);
  const outputName = chosen.value.name!;
  const otherOutputs = graph.output.filter((value) => value.name !== outputName);
  if (chosen.zipMap) adaptations.push(`ZipMap removed: its probability tensor "${outputName}" is the output`);
  if (otherOutputs.length > 0 || chosen.zipMap) {
    const dropped = graph.output.filter(
      (value) => value.name !== outputName && value.name !== chosen.zipMap?.output?.[0],
    );
    if (dropped.length > 0)
      adaptations.push(`outputs not read dropped: ${dropped.map((value) => value.name).join(', ')}`);
    graph.output = [onnx.ValueInfoProto.fromObject(chosen.value)];
    pruneTo(graph, outputName);
  }
  if (folding(options.preprocessing)) {
    adaptations.push(...foldPreprocessing(graph, input, options.preprocessing!, options));
  } else if (input.type?.tensorType?.elemType !== DataType.FLOAT) {
    // Tempest feeds float32 samples; a uint8 image model needs the cast folded in front of it.
    const element = ELEMENT_NAMES[input.type?.tensorType?.elemType ?? 0];
    throw new TempestInputError(
      `${options.where}: the model input "${input.name}" of ${options.label} is ${describeType(input.type)}, ` +
        'but Tempest feeds float32 samples; ' +
        (element === 'uint8'
          ? 'for an image model add `preprocessing: { dtype: uint8, scale: 255 }` to the spec (pixels in [0, 1] are scaled, rounded and cast in the graph)'
          : `export the model with a float32 input, or name another input with ${options.where}.input`),
      'ShapeMismatch',
    );
  }

  const outputKind = options.spec?.outputKind ?? (chosen.zipMap ? 'probabilities' : undefined);
  const classNames = options.spec?.classNames ?? classNamesInGraph(graph, chosen.zipMap);
  const inputName = graph.input.find(
    (value) => !graph.initializer.some((tensor) => tensor.name === value.name),
  )!.name!;
  const io: ModelIo = {
    input: inputName,
    output: outputName,
    ...(outputKind ? { outputKind } : {}),
    ...(classNames ? { classNames } : {}),
    adaptations,
  };
  if (adaptations.length === 0) return { bytes, sha256: sha256Hex(bytes), changed: false, io };
  const adapted = onnx.ModelProto.encode(model).finish();
  return { bytes: adapted, sha256: sha256Hex(adapted), changed: true, io };
}
