import { resolve } from 'node:path';
import { onnx } from 'onnx-proto';
import { buildGradientModel } from '../../core/attack/gradient/builder';
import { sha256Hex } from '../../core/hash';
import { describeType, type AdaptedModel } from '../../core/model/adapter';
import { ModelRunner } from '../../core/model/runner';
import { table } from '../../core/report/markdown';
import { makeTensor } from '../../core/tensor/tensor';
import type { ModelSpecV1, OutputKindV1 } from '../../spec';
import { adaptModelFile, readModelFile } from '../model-file';

export interface InspectOptions {
  readonly input?: string;
  readonly output?: string;
  readonly outputKind?: OutputKindV1;
  readonly json?: boolean;
}

/**
 * `tempest inspect MODEL.onnx`: what Tempest sees in a model before a spec names it — its inputs
 * and outputs, opsets and ops, which input and score output it would use and what it would change
 * (ZipMap, dropped outputs), whether onnxruntime loads it, and whether white-box attacks can get
 * an input gradient. Ends with the spec lines to write.
 */
export async function inspectCommand(modelPath: string, options: InspectOptions): Promise<number> {
  const bytes = await readModelFile(modelPath);
  const spec: Pick<ModelSpecV1, 'input' | 'output' | 'outputKind'> = {
    input: options.input,
    output: options.output,
    outputKind: options.outputKind,
  };
  let model: onnx.ModelProto | undefined;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    model = undefined;
  }
  let adapted: AdaptedModel | undefined;
  let adaptError: string | undefined;
  try {
    adapted = adaptModelFile(modelPath, bytes, spec);
  } catch (error) {
    adaptError = (error as Error).message;
  }

  let runtime: string;
  let classes: number | undefined;
  if (adapted) {
    const runner = new ModelRunner({ intraOpThreads: 1, interOpThreads: 1 });
    try {
      const loaded = await runner.load(adapted.sha256, async () => adapted.bytes, modelPath);
      const dims = loaded.signature.inputDims.slice(1);
      runtime = `loads in onnxruntime; input dims [${loaded.signature.inputDims.map((dim) => (dim < 0 ? 'N' : dim)).join(', ')}]`;
      if (dims.every((dim) => dim > 0)) {
        const probe = new Float32Array(dims.reduce((a, b) => a * b, 1));
        classes = (await runner.predictBatch(loaded, makeTensor([1, ...dims], probe))).classes;
        runtime += `; ${classes} classes`;
      }
    } catch (error) {
      runtime = (error as Error).message;
    } finally {
      await runner.close();
    }
  } else {
    runtime = 'not tried: the adapter refused the model (see above)';
  }

  let gradient: string;
  if (!adapted) gradient = 'not tried';
  else {
    try {
      buildGradientModel(adapted.bytes, 'ce', { scores: adapted.io.outputKind });
      gradient = 'available: white-box attacks (fgsm, pgd, apgd, cw, autoattack) can run';
    } catch (error) {
      gradient = `not applicable: ${(error as Error).message}`;
    }
  }

  const opCounts = new Map<string, number>();
  for (const node of model?.graph?.node ?? []) {
    const key = node.domain ? `${node.domain}:${node.opType}` : String(node.opType);
    opCounts.set(key, (opCounts.get(key) ?? 0) + 1);
  }
  const report = {
    file: resolve(modelPath),
    sha256: sha256Hex(bytes),
    producer: model
      ? `${model.producerName || '?'} ${model.producerVersion || ''}`.trim()
      : 'not an ONNX model',
    opsets: (model?.opsetImport ?? []).map(
      (entry) => `${entry.domain || 'ai.onnx'} ${String(entry.version)}`,
    ),
    inputs: (model?.graph?.input ?? [])
      .filter((value) => !(model?.graph?.initializer ?? []).some((tensor) => tensor.name === value.name))
      .map((value) => ({ name: value.name, type: describeType(value.type) })),
    outputs: (model?.graph?.output ?? []).map((value) => ({
      name: value.name,
      type: describeType(value.type),
    })),
    ops: Object.fromEntries([...opCounts].sort(([a], [b]) => (a < b ? -1 : 1))),
    tempest: adapted
      ? { ...adapted.io, adaptedSha256: adapted.changed ? adapted.sha256 : undefined }
      : { error: adaptError },
    runtime,
    gradient,
  };
  if (options.json) {
    console.log(JSON.stringify(report, null, 2));
    return adapted ? 0 : 2;
  }
  const lines = [
    `# ${modelPath}`,
    '',
    `sha256 ${report.sha256}; producer ${report.producer}; opsets ${report.opsets.join(', ')}`,
    '',
    table(
      ['', 'name', 'type'],
      [
        ...report.inputs.map((value) => ['input', String(value.name), value.type]),
        ...report.outputs.map((value) => ['output', String(value.name), value.type]),
      ],
    ),
    '',
    `ops: ${[...opCounts].map(([op, count]) => `${op} x${count}`).join(', ')}`,
    '',
  ];
  if (adapted) {
    lines.push(
      `Tempest feeds "${adapted.io.input}" and reads "${adapted.io.output}" as scores` +
        (adapted.io.outputKind ? ` (${adapted.io.outputKind})` : ' (kind detected from the values)') +
        (adapted.io.classNames ? `; classes ${adapted.io.classNames.join(', ')}` : ''),
      ...adapted.io.adaptations.map((step) => `- ${step}`),
      `runtime: ${runtime}`,
      `input gradient: ${gradient}`,
      '',
      'In the spec:',
      '```yaml',
      'models:',
      `  - id: ${(modelPath.split('/').pop() ?? 'model').replace(/\.onnx$/, '').replace(/[^A-Za-z0-9_.-]/g, '-')}`,
      `    path: ${modelPath}`,
      `    sha256: ${report.sha256}`,
      `    input: ${adapted.io.input}`,
      `    output: ${adapted.io.output}`,
      ...(adapted.io.outputKind ? [`    outputKind: ${adapted.io.outputKind}`] : []),
      '```',
    );
  } else {
    lines.push(`Tempest cannot use this model as it is: ${adaptError}`);
  }
  console.log(lines.join('\n'));
  return adapted ? 0 : 2;
}
