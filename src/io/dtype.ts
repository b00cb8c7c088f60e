/**
 * Safetensors element types, and conversion of the three float types to and from float32.
 *
 * All compute runs in float32; F16/BF16 weights are widened on read and narrowed back on write,
 * so both directions run over every weight of a model and are written as flat loops over
 * typed-array views. Safetensors data is little-endian, like every platform Node runs on here;
 * the check below makes a big-endian host fail loudly instead of silently swapping bytes.
 */

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('amp-prune needs a little-endian host: safetensors data is little-endian');
}

/** Bytes per element of each safetensors dtype we can read a header of. */
export const ELEMENT_SIZE = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
} as const;

export type Dtype = keyof typeof ELEMENT_SIZE;

/** The dtypes we compute with: converted to and from float32. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

export const FLOAT_DTYPES: readonly FloatDtype[] = ['F32', 'F16', 'BF16'];

export function isDtype(name: string): name is Dtype {
  return Object.prototype.hasOwnProperty.call(ELEMENT_SIZE, name);
}

export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

export function elementSize(dtype: Dtype): number {
  return ELEMENT_SIZE[dtype];
}

/**
 * Widens F32/F16/BF16 little-endian bytes to float32.
 * F32 at a 4-aligned byte offset is returned as a view on the same memory (no copy).
 */
export function toFloat32(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  const size = ELEMENT_SIZE[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`toFloat32: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const count = bytes.byteLength / size;
  if (dtype === 'F32') {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    return new Float32Array(bytes.slice().buffer, 0, count);
  }
  const halves = uint16View(bytes);
  const out = new Float32Array(count);
  const outBits = new Uint32Array(out.buffer);
  if (dtype === 'BF16') {
    // bf16 is the top half of a float32: exact, NaN payloads included.
    for (let i = 0; i < count; i++) outBits[i] = halves[i] << 16;
  } else {
    const table = f16ToF32Table();
    for (let i = 0; i < count; i++) outBits[i] = table[halves[i]];
  }
  return out;
}

/**
 * Narrows float32 values to F32/F16/BF16 little-endian bytes, rounding to nearest, ties to even.
 * BF16 matches torch's `.to(torch.bfloat16)` bit for bit except NaN, which becomes 0x7FC0 as in
 * c10's scalar rule (torch's vectorized CPU kernel writes 0xFFFF; both are NaN). F16 matches numpy's
 * `astype(float16)` (subnormals, overflow to ±inf, NaN kept with its sign and top payload bits).
 * F32 is returned as a byte view on `values` (no copy).
 */
export function fromFloat32(values: Float32Array, dtype: FloatDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  if (dtype === 'BF16') {
    for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  } else {
    for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  }
  return new Uint8Array(out.buffer);
}

/** A Uint16Array over the bytes; copies only when the offset is odd (a view needs alignment). */
function uint16View(bytes: Uint8Array): Uint16Array {
  const count = bytes.byteLength >>> 1;
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  return new Uint16Array(bytes.slice().buffer, 0, count);
}

/** torch's round_to_nearest_even for bfloat16 (c10/util/BFloat16.h). */
export function f32BitsToBf16Bits(bits: number): number {
  if ((bits & 0x7fffffff) >>> 0 > 0x7f800000) return 0x7fc0;
  // Adding 0x7FFF plus the lowest kept bit rounds ties to even; carries into the exponent are
  // correct (largest finite values round up to inf). No overflow past 2^32: NaNs left above.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** IEEE float32 -> binary16 bits, round to nearest even (numpy's npy_floatbits_to_halfbits). */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x38800000 && abs < 0x47800000) {
    // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits.
    // A carry out of the mantissa bumps the exponent, up to inf for values >= 65520.
    return sign | ((abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13);
  }
  if (abs >= 0x47800000) {
    if (abs > 0x7f800000) {
      // NaN: keep the top payload bits, but never let them become zero (that would be inf).
      const payload = (abs & 0x7fffff) >>> 13;
      return sign | 0x7c00 | (payload === 0 ? 1 : payload);
    }
    return sign | 0x7c00;
  }
  const exponent = abs >>> 23;
  if (exponent < 102) return sign; // below half the smallest subnormal (2^-25): rounds to zero
  // Subnormal half: the value in units of 2^-24 is mantissa * 2^(exponent - 126).
  const mantissa = 0x800000 | (abs & 0x7fffff);
  const shift = 126 - exponent; // 14..24
  let half = mantissa >>> shift;
  const rest = mantissa & ((1 << shift) - 1);
  const tie = 1 << (shift - 1);
  if (rest > tie || (rest === tie && (half & 1) === 1)) half++; // may carry into the smallest normal
  return sign | half;
}

let f16Table: Uint32Array | undefined;

/** float32 bits of every binary16 value, built once (256 KiB); NaN payloads kept bit-exact. */
function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      table[h] = sign | 0x7f800000 | (mantissa << 13);
    } else if (exponent !== 0) {
      table[h] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else {
      scratch[0] = mantissa * 2 ** -24; // subnormal (or zero): exact in float32
      table[h] = sign | scratchBits[0];
    }
  }
  f16Table = table;
  return table;
}
