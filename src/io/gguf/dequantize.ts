/**
 * Tensor data of any supported ggml type to float32. Float types are widened exactly; block types
 * are expanded by their dequantize_row_* port. Unsupported types fail naming the supported ones.
 */
import { FileError } from '../../errors.js';
import { toFloat32 } from '../dtype.js';
import { dequantizeQ2_K, dequantizeQ3_K, dequantizeQ4_K, dequantizeQ5_K, dequantizeQ6_K } from './dequant-k.js';
import { dequantizeQ4_0, dequantizeQ4_1, dequantizeQ5_0, dequantizeQ5_1, dequantizeQ8_0 } from './dequant-legacy.js';
import type { GgmlType } from './ggml-types.js';

type BlockDequantizer = (bytes: Uint8Array, out: Float32Array) => void;

const BLOCK_DEQUANTIZERS: Readonly<Record<string, BlockDequantizer>> = {
  Q4_0: dequantizeQ4_0,
  Q4_1: dequantizeQ4_1,
  Q5_0: dequantizeQ5_0,
  Q5_1: dequantizeQ5_1,
  Q8_0: dequantizeQ8_0,
  Q2_K: dequantizeQ2_K,
  Q3_K: dequantizeQ3_K,
  Q4_K: dequantizeQ4_K,
  Q5_K: dequantizeQ5_K,
  Q6_K: dequantizeQ6_K,
};

const FLOAT_TYPES = ['F32', 'F16', 'BF16'] as const;
type GgmlFloatType = (typeof FLOAT_TYPES)[number];

/** Names of every type we can read, floats first. */
export const SUPPORTED_TYPE_NAMES: readonly string[] = [...FLOAT_TYPES, ...Object.keys(BLOCK_DEQUANTIZERS)];

export function isSupportedType(type: GgmlType): boolean {
  return SUPPORTED_TYPE_NAMES.includes(type.name);
}

export function isFloatType(type: GgmlType): type is GgmlType & { name: GgmlFloatType } {
  return (FLOAT_TYPES as readonly string[]).includes(type.name);
}

/** The one-line error for a tensor of a type we cannot read. */
export function unsupportedTypeError(file: string, tensorName: string, type: GgmlType): FileError {
  return new FileError(file, `tensor ${tensorName} has quantization type ${type.name}, which is not supported (supported: ${SUPPORTED_TYPE_NAMES.join(', ')})`);
}

/**
 * `bytes` (a whole number of blocks) as float32. F32 input comes back as a view when aligned, so
 * callers that modify the result must not rely on `bytes` staying unchanged.
 */
export function dequantize(bytes: Uint8Array, type: GgmlType, file: string, tensorName: string): Float32Array {
  if (isFloatType(type)) return toFloat32(bytes, type.name);
  const dequantizeBlocks = BLOCK_DEQUANTIZERS[type.name];
  if (!dequantizeBlocks) throw unsupportedTypeError(file, tensorName, type);
  if (bytes.byteLength % type.typeSize !== 0) throw new Error(`${tensorName}: ${bytes.byteLength} bytes is not a whole number of ${type.name} blocks`);
  const out = new Float32Array((bytes.byteLength / type.typeSize) * type.blockSize);
  dequantizeBlocks(bytes, out);
  return out;
}
