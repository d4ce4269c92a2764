/**
 * NumPy .npy (format 1.0) reading and writing, so datasets and artifacts interchange with the
 * Python tools robustness researchers already use. Writing is byte-deterministic.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export type NpyDtype = '<f4' | '<f8' | '<i4' | '<i8' | '|u1' | '<i2' | '|i1' | '<u2' | '<u4';

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** Values as doubles (exact for every supported dtype within 2^53). */
  readonly values: ArrayLike<number>;
}

const BYTES_PER_ELEMENT: Record<NpyDtype, number> = {
  '<f4': 4,
  '<f8': 8,
  '<i4': 4,
  '<i8': 8,
  '|u1': 1,
  '<i2': 2,
  '|i1': 1,
  '<u2': 2,
  '<u4': 4,
};

export class NpyFormatError extends Error {
  override readonly name = 'NpyFormatError';
}

export function encodeNpy(
  dtype: '<f4' | '<i4' | '|u1',
  shape: readonly number[],
  data: Float32Array | Int32Array | Uint8Array,
): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad so the data starts on a 64-byte boundary, as NumPy itself writes.
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(MAGIC.length + 4 + headerBytes.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  out.set(body, 10 + headerBytes.length);
  return out;
}

export function decodeNpy(bytes: Uint8Array, source = 'npy data'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((byte, index) => bytes[index] !== byte)) {
    throw new NpyFormatError(`${source}: not a .npy file (missing \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) {
    throw new NpyFormatError(`${source}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  }
  if (fortran === 'True') {
    throw new NpyFormatError(
      `${source}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray`,
    );
  }
  const dtype = normalizeDtype(descr, source);
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map(Number);
  const count = shape.reduce((product, dim) => product * dim, 1);
  const dataStart = headerStart + headerLength;
  const expectedBytes = count * BYTES_PER_ELEMENT[dtype];
  if (bytes.length - dataStart !== expectedBytes) {
    throw new NpyFormatError(
      `${source}: shape (${shape.join(', ')}) of ${descr} needs ${expectedBytes} data bytes, file has ${bytes.length - dataStart}`,
    );
  }
  // Copy into a fresh, aligned buffer: the data offset need not be aligned for the dtype, and a
  // Node Buffer's .slice() is a view into a shared pool rather than a copy.
  const data = new Uint8Array(expectedBytes);
  data.set(bytes.subarray(dataStart));
  return { dtype, shape, values: typedView(dtype, data.buffer) };
}

function normalizeDtype(descr: string, source: string): NpyDtype {
  const normalized = descr.replace(/^=/, '<').replace(/^\|(?=[fiu][248])/, '<');
  if (normalized in BYTES_PER_ELEMENT) return normalized as NpyDtype;
  if (descr === '<u1' || descr === 'u1') return '|u1';
  throw new NpyFormatError(
    `${source}: dtype ${descr} is not supported; use float32/float64 for inputs and an integer type for labels`,
  );
}

function typedView(dtype: NpyDtype, buffer: ArrayBuffer): ArrayLike<number> {
  switch (dtype) {
    case '<f4':
      return new Float32Array(buffer);
    case '<f8':
      return new Float64Array(buffer);
    case '<i4':
      return new Int32Array(buffer);
    case '<i2':
      return new Int16Array(buffer);
    case '|i1':
      return new Int8Array(buffer);
    case '|u1':
      return new Uint8Array(buffer);
    case '<u2':
      return new Uint16Array(buffer);
    case '<u4':
      return new Uint32Array(buffer);
    case '<i8':
      return Array.from(new BigInt64Array(buffer), (value) => Number(value));
  }
}
