/**
 * float32 values -> the bytes of one GGUF tensor type. Q8_0 and Q4_0 follow gguf-py's quantizers
 * (gguf/quants.py) step for step in float32, so the bytes equal what llama.cpp's own converter
 * writes for the same values. Per block of 32, d stored as binary16:
 *   Q8_0  d = max|x| / 127, q = round-half-away(x · (1 / d)), int8
 *   Q4_0  d = m / −8 with m the value of largest magnitude (sign kept), q = min(15, trunc(x · (1 / d) + 8.5)),
 *         4 bits: byte j holds q[j] in its low nibble and q[j + 16] in its high one
 */
import { f32BitsToF16Bits, fromFloat32 } from '../../io/dtype.js';

export type GgufTensorType = 'F32' | 'F16' | 'Q8_0' | 'Q4_0';

/** Values per block of both block types (rows must hold whole blocks). */
export const QUANT_BLOCK = 32;
const BLOCK_BYTES = { Q8_0: 34, Q4_0: 18 } as const;

/** Bytes of `elements` values stored as `type` (block types need whole blocks per row). */
export function encodedByteLength(type: GgufTensorType, elements: number): number {
  if (type === 'F32') return elements * 4;
  if (type === 'F16') return elements * 2;
  return (elements / QUANT_BLOCK) * BLOCK_BYTES[type];
}

export function encodeTensor(values: Float32Array, type: GgufTensorType): Uint8Array {
  if (type === 'F32') return fromFloat32(values, 'F32');
  if (type === 'F16') return fromFloat32(values, 'F16');
  return type === 'Q8_0' ? quantizeQ8_0(values) : quantizeQ4_0(values);
}

const f = Math.fround;
const bits = new Uint32Array(1);
const float = new Float32Array(bits.buffer);

function halfBits(value: number): number {
  float[0] = value;
  return f32BitsToF16Bits(bits[0]);
}

/** numpy's np_roundf in gguf-py: half away from zero, exact on float32 inputs. */
function roundHalfAway(x: number): number {
  const a = Math.abs(x);
  const floored = Math.floor(a);
  const b = floored + Math.floor(2 * (a - floored));
  return x < 0 ? -b : b;
}

function wholeBlocks(values: Float32Array, type: string): number {
  if (values.length % QUANT_BLOCK !== 0) throw new Error(`quantize ${type}: ${values.length} values is not a whole number of blocks`);
  return values.length / QUANT_BLOCK;
}

function writeHalf(out: Uint8Array, at: number, value: number): void {
  const h = halfBits(value);
  out[at] = h & 0xff;
  out[at + 1] = h >>> 8;
}

export function quantizeQ8_0(values: Float32Array): Uint8Array {
  const blocks = wholeBlocks(values, 'Q8_0');
  const out = new Uint8Array(blocks * BLOCK_BYTES.Q8_0);
  for (let b = 0; b < blocks; b++) {
    const base = b * QUANT_BLOCK;
    let max = 0;
    for (let i = 0; i < QUANT_BLOCK; i++) max = Math.max(max, Math.abs(values[base + i]));
    const d = f(max / 127);
    const id = d === 0 ? 0 : f(1 / d);
    const at = b * BLOCK_BYTES.Q8_0;
    writeHalf(out, at, d);
    for (let i = 0; i < QUANT_BLOCK; i++) {
      const q = roundHalfAway(f(values[base + i] * id));
      out[at + 2 + i] = q & 0xff; // int8 two's complement
    }
  }
  return out;
}

/** Q4_0's numbers before GGUF's block layout: per block of 32 its scale (binary16 bits) and 16 bytes of packed 4-bit values. */
export interface Q4Blocks {
  /** d of each block as binary16 bits; value = d · (q − 8). */
  scales: Uint16Array;
  /** 16 bytes per block: byte j holds q[j] in its low nibble and q[j + 16] in its high one. */
  nibbles: Uint8Array;
}

export function quantizeQ4Blocks(values: Float32Array): Q4Blocks {
  const blocks = wholeBlocks(values, 'Q4_0');
  const half = QUANT_BLOCK / 2;
  const scales = new Uint16Array(blocks);
  const nibbles = new Uint8Array(blocks * half);
  const q = new Uint8Array(QUANT_BLOCK);
  for (let b = 0; b < blocks; b++) {
    const base = b * QUANT_BLOCK;
    // the first value of largest magnitude, with its sign (numpy's argmax of |x|)
    let extreme = values[base];
    for (let i = 1; i < QUANT_BLOCK; i++) if (Math.abs(values[base + i]) > Math.abs(extreme)) extreme = values[base + i];
    const d = f(extreme / -8);
    const id = d === 0 ? 0 : f(1 / d);
    for (let i = 0; i < QUANT_BLOCK; i++) q[i] = Math.min(15, Math.trunc(f(f(values[base + i] * id) + 8.5)));
    scales[b] = halfBits(d);
    for (let j = 0; j < half; j++) nibbles[b * half + j] = q[j] | (q[j + half] << 4);
  }
  return { scales, nibbles };
}

export function quantizeQ4_0(values: Float32Array): Uint8Array {
  const { scales, nibbles } = quantizeQ4Blocks(values);
  const half = QUANT_BLOCK / 2;
  const out = new Uint8Array(scales.length * BLOCK_BYTES.Q4_0);
  for (let b = 0; b < scales.length; b++) {
    const at = b * BLOCK_BYTES.Q4_0;
    out[at] = scales[b] & 0xff;
    out[at + 1] = scales[b] >>> 8;
    out.set(nibbles.subarray(b * half, (b + 1) * half), at + 2);
  }
  return out;
}
