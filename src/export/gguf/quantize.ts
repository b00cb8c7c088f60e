/**
 * float32 values -> the bytes of one GGUF tensor type. Q8_0 follows gguf-py's quantizer
 * (gguf/quants.py) step for step in float32, so the bytes equal what llama.cpp's own converter
 * writes for the same values: per block of 32, d = max|x| / 127, q = round-half-away(x / d) as
 * x * (1 / d), d stored as binary16.
 */
import { f32BitsToF16Bits, fromFloat32 } from '../../io/dtype.js';

export type GgufTensorType = 'F32' | 'F16' | 'Q8_0';

export const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 34;

/** Bytes of `elements` values stored as `type` (Q8_0 needs whole blocks per row; see canQuantize). */
export function encodedByteLength(type: GgufTensorType, elements: number): number {
  if (type === 'F32') return elements * 4;
  if (type === 'F16') return elements * 2;
  return (elements / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
}

export function encodeTensor(values: Float32Array, type: GgufTensorType): Uint8Array {
  if (type === 'F32') return fromFloat32(values, 'F32');
  if (type === 'F16') return fromFloat32(values, 'F16');
  return quantizeQ8_0(values);
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

export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new Error(`quantizeQ8_0: ${values.length} values is not a whole number of blocks`);
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  for (let b = 0; b < blocks; b++) {
    const base = b * Q8_0_BLOCK;
    let max = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) max = Math.max(max, Math.abs(values[base + i]));
    const d = f(max / 127);
    const id = d === 0 ? 0 : f(1 / d);
    const h = halfBits(d);
    const at = b * Q8_0_BLOCK_BYTES;
    out[at] = h & 0xff;
    out[at + 1] = h >>> 8;
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const q = roundHalfAway(f(values[base + i] * id));
      out[at + 2 + i] = q & 0xff; // int8 two's complement
    }
  }
  return out;
}
