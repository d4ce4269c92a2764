import { readFile, writeFile } from 'node:fs/promises';
import { onnx } from 'onnx-proto';
import { deriveKey, sampleStream } from '../../core/rng/keyed';

/**
 * Copy an ONNX model with one float initializer perturbed by seeded noise of `relativeSd` times
 * that initializer's own standard deviation: a slightly different model, as a retraining or a
 * silent weight change would produce.
 */
export async function writePerturbedModel(
  source: string,
  target: string,
  initializerName: string,
  relativeSd: number,
  seed = 1,
): Promise<void> {
  const model = onnx.ModelProto.decode(await readFile(source));
  const initializer = model.graph?.initializer?.find((tensor) => tensor.name === initializerName);
  if (!initializer?.rawData) throw new Error(`${source} has no raw float initializer "${initializerName}"`);
  const raw = initializer.rawData;
  const weights = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const mean = weights.reduce((sum, value) => sum + value, 0) / weights.length;
  const sd = Math.sqrt(weights.reduce((sum, value) => sum + (value - mean) ** 2, 0) / weights.length);
  const stream = sampleStream(deriveKey({ perturbedModel: seed }), 0);
  for (let i = 0; i < weights.length; i++) {
    // Box-Muller from two uniforms; the exact noise distribution does not matter here.
    const normal = Math.sqrt(-2 * Math.log(stream.uniformOpen())) * Math.cos(2 * Math.PI * stream.uniform());
    weights[i] += relativeSd * sd * normal;
  }
  initializer.rawData = new Uint8Array(weights.buffer);
  await writeFile(target, onnx.ModelProto.encode(model).finish());
}
