/**
 * NaN and ±Inf detection on stored tensors, from the raw bits: a weight that is not a finite
 * number poisons every activation after it, and a model pruned or converted from it would be
 * garbage with nothing to say so. One pass over the bytes (exponent bits all ones), far cheaper
 * than the forward passes and writes that follow each read.
 */
import { FileError } from '../errors.js';
import type { Dtype } from './dtype.js';

/** Per float dtype: element bytes, the exponent mask (all ones = NaN or Inf), and the top bits of a NaN. */
const FLOAT_BITS: Partial<Record<Dtype, { size: 2 | 4 | 8; exponent: number }>> = {
  F16: { size: 2, exponent: 0x7c00 },
  BF16: { size: 2, exponent: 0x7f80 },
  F32: { size: 4, exponent: 0x7f800000 },
  F64: { size: 8, exponent: 0x7ff00000 }, // the high word's mask
};

export interface NonFinite {
  index: number;
  kind: 'NaN' | 'Inf';
}

/** The first element of `bytes` (little-endian `dtype`) that is NaN or ±Inf; undefined for integer dtypes or all finite. */
export function firstNonFinite(bytes: Uint8Array, dtype: Dtype): NonFinite | undefined {
  const bits = FLOAT_BITS[dtype];
  if (!bits) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.floor(bytes.byteLength / bits.size);
  const mantissaOf = (i: number): boolean => {
    if (bits.size === 2) return (view.getUint16(i * 2, true) & (~bits.exponent & 0x7fff)) !== 0;
    if (bits.size === 4) return (view.getUint32(i * 4, true) & 0x007fffff) !== 0;
    return view.getUint32(i * 8, true) !== 0 || (view.getUint32(i * 8 + 4, true) & 0x000fffff) !== 0;
  };
  if (bits.size === 2 && bytes.byteOffset % 2 === 0) {
    const words = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) if ((words[i] & bits.exponent) === bits.exponent) return { index: i, kind: mantissaOf(i) ? 'NaN' : 'Inf' };
    return undefined;
  }
  if (bits.size === 4 && bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) if ((words[i] & bits.exponent) === bits.exponent) return { index: i, kind: mantissaOf(i) ? 'NaN' : 'Inf' };
    return undefined;
  }
  for (let i = 0; i < count; i++) {
    const high = bits.size === 2 ? view.getUint16(i * 2, true) : view.getUint32(i * bits.size + (bits.size === 8 ? 4 : 0), true);
    if ((high & bits.exponent) === bits.exponent) return { index: i, kind: mantissaOf(i) ? 'NaN' : 'Inf' };
  }
  return undefined;
}

/** The first NaN or ±Inf of computed values (activations, scores). */
export function firstNonFiniteValue(values: ArrayLike<number>): NonFinite | undefined {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) return { index: i, kind: Number.isNaN(v) ? 'NaN' : 'Inf' };
  }
  return undefined;
}

/** "[3, 17]" for a flat index into a tensor of `shape`. */
export function elementPosition(index: number, shape: readonly number[]): string {
  const position: number[] = [];
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = Math.max(1, shape[d]);
    position.unshift(rest % size);
    rest = Math.floor(rest / size);
  }
  return `[${position.join(', ')}]`;
}

/** Refuses a stored tensor holding NaN or Inf, naming the file, the tensor and the element. */
export function checkFiniteTensor(file: string, name: string, dtype: Dtype, shape: readonly number[], bytes: Uint8Array): void {
  const bad = firstNonFinite(bytes, dtype);
  if (bad) throw new FileError(file, `tensor "${name}" holds ${bad.kind} at ${elementPosition(bad.index, shape)} (weights must be finite numbers)`);
}
