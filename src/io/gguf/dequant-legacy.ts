/**
 * The 32-element block types Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 to float32, as ggml's
 * dequantize_row_* (and gguf-py's numpy port, which transformers uses) compute them: every product
 * and sum rounded to float32 (Math.fround), so results are bit-identical.
 *
 * Nibble layout shared by the 4- and 5-bit types: byte j of qs holds element j in its low nibble
 * and element j + 16 in its high nibble; Q5's u32 qh holds bit 4 of element i at bit i.
 */
import { halfAt } from './half.js';

const fround = Math.fround;

/** Q4_0 (18 bytes): f16 d, 16 bytes of nibbles; x = d * (q - 8). */
export function dequantizeQ4_0(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; src < bytes.length; src += 18, dst += 32) {
    const d = halfAt(bytes, src);
    for (let j = 0; j < 16; j++) {
      const q = bytes[src + 2 + j];
      out[dst + j] = d * ((q & 0x0f) - 8);
      out[dst + j + 16] = d * ((q >>> 4) - 8);
    }
  }
}

/** Q4_1 (20 bytes): f16 d, f16 m, 16 bytes of nibbles; x = d * q + m. */
export function dequantizeQ4_1(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; src < bytes.length; src += 20, dst += 32) {
    const d = halfAt(bytes, src);
    const m = halfAt(bytes, src + 2);
    for (let j = 0; j < 16; j++) {
      const q = bytes[src + 4 + j];
      out[dst + j] = fround(d * (q & 0x0f)) + m;
      out[dst + j + 16] = fround(d * (q >>> 4)) + m;
    }
  }
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

/** Q5_0 (22 bytes): f16 d, u32 high bits, 16 bytes of nibbles; x = d * (q - 16). */
export function dequantizeQ5_0(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; src < bytes.length; src += 22, dst += 32) {
    const d = halfAt(bytes, src);
    const high = readU32(bytes, src + 2);
    for (let j = 0; j < 16; j++) {
      const q = bytes[src + 6 + j];
      out[dst + j] = d * (((q & 0x0f) | (((high >>> j) & 1) << 4)) - 16);
      out[dst + j + 16] = d * (((q >>> 4) | (((high >>> (j + 16)) & 1) << 4)) - 16);
    }
  }
}

/** Q5_1 (24 bytes): f16 d, f16 m, u32 high bits, 16 bytes of nibbles; x = d * q + m. */
export function dequantizeQ5_1(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; src < bytes.length; src += 24, dst += 32) {
    const d = halfAt(bytes, src);
    const m = halfAt(bytes, src + 2);
    const high = readU32(bytes, src + 4);
    for (let j = 0; j < 16; j++) {
      const q = bytes[src + 8 + j];
      out[dst + j] = fround(d * ((q & 0x0f) | (((high >>> j) & 1) << 4))) + m;
      out[dst + j + 16] = fround(d * ((q >>> 4) | (((high >>> (j + 16)) & 1) << 4))) + m;
    }
  }
}

/** Q8_0 (34 bytes): f16 d, 32 int8; x = d * q. */
export function dequantizeQ8_0(bytes: Uint8Array, out: Float32Array): void {
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let src = 0, dst = 0; src < bytes.length; src += 34, dst += 32) {
    const d = halfAt(bytes, src);
    for (let j = 0; j < 32; j++) out[dst + j] = d * signed[src + 2 + j];
  }
}
