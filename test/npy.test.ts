import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, NpyFormatError } from '../core/data/npy';

describe('npy codec', () => {
  it('writes the NumPy 1.0 header byte for byte and reads it back', () => {
    const bytes = encodeNpy('<f4', [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
    const header = new TextDecoder('latin1').decode(bytes.subarray(0, 128));
    // What numpy.save (NumPy 2.x) writes for np.arange(1, 7, dtype='<f4').reshape(2, 3): the header
    // is padded with spaces to a 64-byte multiple and ends in a newline; "v" is its length, 118.
    expect(header).toBe(
      "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
        ' '.repeat(58) +
        '\n',
    );
    expect(bytes.length).toBe(128 + 24);
    const decoded = decodeNpy(bytes);
    expect(decoded.shape).toEqual([2, 3]);
    expect([...(decoded.values as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('writes 1-d shapes with the trailing comma NumPy uses', () => {
    const bytes = encodeNpy('<i4', [3], new Int32Array([7, 8, 9]));
    expect(new TextDecoder('latin1').decode(bytes)).toContain("'shape': (3,)");
    expect([...(decodeNpy(bytes).values as Int32Array)]).toEqual([7, 8, 9]);
  });

  it('explains files it cannot read', () => {
    expect(() => decodeNpy(new Uint8Array([1, 2, 3]), 'x.npy')).toThrow(NpyFormatError);
    const truncated = encodeNpy('<f4', [4], new Float32Array(4)).subarray(0, 128 + 6);
    expect(() => decodeNpy(truncated, 'x.npy')).toThrow(/needs 16 data bytes, file has 6/);
  });
});
