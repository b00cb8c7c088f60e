/**
 * The 256-element "k-quant" super-block types Q2_K, Q3_K, Q4_K, Q5_K and Q6_K to float32, as ggml's
 * dequantize_row_* and gguf-py's numpy port compute them: each sub-block scale is rounded to
 * float32 first (d * sc), then each value (Math.fround at every step), so results are bit-identical.
 *
 * Bit layout shared by several types: a 32-byte run of low bits serves 4 (2-bit) or 2 (4-bit)
 * consecutive 32-element groups, group g taking bits at shift `bits * g`.
 */
import { halfAt } from './half.js';

const fround = Math.fround;
const SUPER = 256;

/** Q2_K (84 bytes): 16 scale/min nibble pairs, 64 bytes of 2-bit q, f16 d, f16 dmin. */
export function dequantizeQ2_K(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; src < bytes.length; src += 84, dst += SUPER) {
    const d = halfAt(bytes, src + 80);
    const dmin = halfAt(bytes, src + 82);
    for (let sub = 0; sub < 16; sub++) {
      const packed = bytes[src + sub];
      const scale = fround(d * (packed & 0x0f));
      const min = fround(dmin * (packed >>> 4));
      for (let i = 0; i < 16; i++) {
        const e = sub * 16 + i;
        const q = (bytes[src + 16 + (e >>> 7) * 32 + (e & 31)] >>> (2 * ((e >>> 5) & 3))) & 3;
        out[dst + e] = fround(scale * q) - min;
      }
    }
  }
}

/** The sixteen 6-bit Q3_K scales, each minus 32: low nibbles in bytes 0-7, high 2-bit pairs in bytes 8-11. */
function q3kScale(bytes: Uint8Array, scales: number, sub: number): number {
  const low = (bytes[scales + (sub & 7)] >>> (4 * (sub >>> 3))) & 0x0f;
  const high = (bytes[scales + 8 + (sub & 3)] >>> (2 * (sub >>> 2))) & 3;
  return (low | (high << 4)) - 32;
}

/** Q3_K (110 bytes): 32-byte high-bit mask, 64 bytes of 2-bit q, 12 bytes of scales, f16 d. */
export function dequantizeQ3_K(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; src < bytes.length; src += 110, dst += SUPER) {
    const d = halfAt(bytes, src + 108);
    for (let sub = 0; sub < 16; sub++) {
      const scale = fround(d * q3kScale(bytes, src + 96, sub));
      for (let i = 0; i < 16; i++) {
        const e = sub * 16 + i;
        const low = (bytes[src + 32 + (e >>> 7) * 32 + (e & 31)] >>> (2 * ((e >>> 5) & 3))) & 3;
        // A clear mask bit means "subtract 4" (the stored bit is the complement).
        const maskBit = (bytes[src + (e & 31)] >>> (e >>> 5)) & 1;
        out[dst + e] = scale * (low - (maskBit ? 0 : 4));
      }
    }
  }
}

/**
 * The j-th 6-bit scale and min of a Q4_K/Q5_K super-block (ggml's get_scale_min_k4): j < 4 in the
 * low 6 bits of bytes j and j + 4; j >= 4 split between a nibble of byte j + 4 and the top two bits
 * of bytes j - 4 (scale) and j (min).
 */
function scaleMinK4(bytes: Uint8Array, at: number, j: number): [scale: number, min: number] {
  if (j < 4) return [bytes[at + j] & 63, bytes[at + j + 4] & 63];
  const shared = bytes[at + j + 4];
  return [(shared & 0x0f) | ((bytes[at + j - 4] >>> 6) << 4), (shared >>> 4) | ((bytes[at + j] >>> 6) << 4)];
}

/** Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of scales/mins, 128 bytes of nibbles; x = d·sc·q − dmin·m. */
export function dequantizeQ4_K(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; src < bytes.length; src += 144, dst += SUPER) {
    const d = halfAt(bytes, src);
    const dmin = halfAt(bytes, src + 2);
    for (let sub = 0; sub < 8; sub++) {
      const [sc, m] = scaleMinK4(bytes, src + 4, sub);
      const scale = fround(d * sc);
      const min = fround(dmin * m);
      const quants = src + 16 + (sub >>> 1) * 32;
      const shift = 4 * (sub & 1);
      for (let l = 0; l < 32; l++) out[dst + sub * 32 + l] = fround(scale * ((bytes[quants + l] >>> shift) & 0x0f)) - min;
    }
  }
}

/** Q5_K (176 bytes): Q4_K's layout plus a 32-byte run of fifth bits (bit `sub` of byte l) before the nibbles. */
export function dequantizeQ5_K(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; src < bytes.length; src += 176, dst += SUPER) {
    const d = halfAt(bytes, src);
    const dmin = halfAt(bytes, src + 2);
    for (let sub = 0; sub < 8; sub++) {
      const [sc, m] = scaleMinK4(bytes, src + 4, sub);
      const scale = fround(d * sc);
      const min = fround(dmin * m);
      const quants = src + 48 + (sub >>> 1) * 32;
      const shift = 4 * (sub & 1);
      for (let l = 0; l < 32; l++) {
        const q = ((bytes[quants + l] >>> shift) & 0x0f) | (((bytes[src + 16 + l] >>> sub) & 1) << 4);
        out[dst + sub * 32 + l] = fround(scale * q) - min;
      }
    }
  }
}

/** Q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales, f16 d; x = d·sc·(q − 32). */
export function dequantizeQ6_K(bytes: Uint8Array, out: Float32Array): void {
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let src = 0, dst = 0; src < bytes.length; src += 210, dst += SUPER) {
    const d = halfAt(bytes, src + 208);
    for (let sub = 0; sub < 16; sub++) {
      const scale = fround(d * signed[src + 192 + sub]);
      for (let i = 0; i < 16; i++) {
        const e = sub * 16 + i;
        const half = e >>> 7; // each 128-element half has its own 64 low and 32 high bytes
        const group = (e >>> 5) & 3;
        const l = e & 31;
        const low = (bytes[src + half * 64 + (group & 1) * 32 + l] >>> (4 * (group >>> 1))) & 0x0f;
        const high = (bytes[src + 128 + half * 32 + l] >>> (2 * group)) & 3;
        out[dst + e] = scale * ((low | (high << 4)) - 32);
      }
    }
  }
}
