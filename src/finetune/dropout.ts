/**
 * LoRA dropout masks (peft's lora_dropout: the adapter branch reads x ⊙ keep / (1 − p)) drawn from
 * our own seeded generator, so a run is the same on every machine and can be replayed on resume:
 * a mask is a pure function of (noise key, layer, adapter). torch's RNG cannot be matched; the
 * tests hand these masks to peft instead.
 *
 * A mask is drawn once per micro-batch as keep-bits (1 bit per element: the forward and the
 * backward of a layer both read it, and bits keep every layer's mask in memory at 1/32 of its
 * float size), then expanded to the float M the graphs multiply by.
 */
import { mulberry32Words } from '../calib/prng.js';

/** One 32-bit seed from several integers (murmur3's finalizer after each): nearby inputs, unrelated seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/**
 * Keep-bits of `count` elements: bit i (word i >>> 5, bit i & 31) is 1 when element i is kept.
 * Each generator output decides two elements by its low and high 16 bits, dropped when below
 * round(p · 2¹⁶): p is honoured to 1/65536, and the draw costs half a generator call per element.
 */
export function drawKeepBits(p: number, seed: number, count: number): Uint32Array {
  const threshold = Math.round(p * 65536);
  const random = mulberry32Words(seed, Math.ceil(count / 2));
  const bits = new Uint32Array(Math.ceil(count / 32));
  for (let i = 0; i < count; i += 2) {
    const r = random[i >>> 1];
    // i is even, so i and i + 1 share a word
    let word = 0;
    if ((r & 0xffff) >= threshold) word |= 1 << (i & 31);
    if (i + 1 < count && r >>> 16 >= threshold) word |= 1 << ((i + 1) & 31);
    bits[i >>> 5] |= word;
  }
  return bits;
}

/** M from keep-bits: 1 / (1 − p) where kept, 0 where dropped. Fills, then visits only the dropped (a fraction p). */
export function expandKeepBits(bits: Uint32Array, p: number, count: number): Float32Array {
  const mask = new Float32Array(count).fill(1 / (1 - p));
  for (let w = 0; w < bits.length; w++) {
    const base = w * 32;
    let dropped = ~bits[w] & (count - base >= 32 ? 0xffffffff : (1 << (count - base)) - 1);
    while (dropped !== 0) {
      const lowest = dropped & -dropped;
      mask[base + 31 - Math.clz32(lowest)] = 0;
      dropped ^= lowest;
    }
  }
  return mask;
}

/** The keep-bits of adapter `adapter` of layer `layer` for the micro-batch with noise key `key`. */
export const adapterKeepBits = (p: number, key: number, layer: number, adapter: number, count: number): Uint32Array => drawKeepBits(p, mixSeed(key, layer, adapter), count);

/** That adapter's M [rows, cols] row-major, as the graphs read it. */
export const adapterMask = (p: number, key: number, layer: number, adapter: number, rows: number, cols: number): Float32Array =>
  expandKeepBits(adapterKeepBits(p, key, layer, adapter, rows * cols), p, rows * cols);
