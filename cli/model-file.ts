import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { TempestInputError } from '../core/errors';
import { adaptModel, type AdaptedModel } from '../core/model/adapter';
import type { ModelSpecV1 } from '../spec';
import { readExternalData } from '../core/resolve';

/** The bytes of a model file named on the command line, with an error that says which file. */
export async function readModelFile(path: string): Promise<Uint8Array> {
  return readFile(resolvePath(path)).catch((error: NodeJS.ErrnoException) => {
    throw new TempestInputError(`cannot read ${path} (${error.code ?? error.message})`, 'ModelNotFound');
  });
}

/**
 * A model file as a run would use it: the model adapter's default (or given) input and score
 * output, ZipMap removed, external data inlined, so commands taking MODEL.onnx accept what a spec
 * accepts.
 */
export function adaptModelFile(
  path: string,
  bytes: Uint8Array,
  spec: Pick<ModelSpecV1, 'input' | 'output' | 'outputKind'> = {},
): AdaptedModel {
  return adaptModel(bytes, {
    label: path,
    where: 'models[i]',
    spec,
    readExternal: (location) => readExternalData(resolvePath(path), location, 'models[i]'),
  });
}
