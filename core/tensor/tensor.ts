/** A dense float32 tensor in row-major (C) order; images are NCHW with values in [0, 1]. */
export interface Tensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** Labeled samples: inputs whose first dimension is the sample axis, one integer label each. */
export interface LabeledData {
  readonly inputs: Tensor;
  readonly labels: Int32Array;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

export function makeTensor(dims: readonly number[], data?: Float32Array): Tensor {
  const size = elementCount(dims);
  if (dims.some((dim) => !Number.isInteger(dim) || dim < 0)) {
    throw new Error(`tensor dims must be non-negative integers, got [${dims.join(', ')}]`);
  }
  if (data && data.length !== size) {
    throw new Error(`tensor data has ${data.length} elements but dims [${dims.join(', ')}] need ${size}`);
  }
  return { dims: [...dims], data: data ?? new Float32Array(size) };
}

/** Elements per sample (product of all dims but the first). */
export function sampleSize(tensor: Tensor): number {
  return elementCount(tensor.dims.slice(1));
}

/** Samples [start, end) as a view sharing the parent's buffer (no copy). */
export function sliceSamples(tensor: Tensor, start: number, end: number): Tensor {
  const per = sampleSize(tensor);
  return {
    dims: [end - start, ...tensor.dims.slice(1)],
    data: tensor.data.subarray(start * per, end * per),
  };
}

/** Index of the largest value in each row of an [N, C] matrix; ties go to the lowest index. */
export function argmaxRows(values: Float32Array, rows: number, columns: number): Int32Array {
  const result = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const offset = row * columns;
    let best = 0;
    for (let column = 1; column < columns; column++) {
      if (values[offset + column] > values[offset + best]) best = column;
    }
    result[row] = best;
  }
  return result;
}
