/**
 * LoRA dropout masks (peft's lora_dropout: the adapter branch reads x ⊙ keep / (1 − p)) drawn from
 * our own seeded generator, so a run is the same on every machine and can be replayed on resume:
 * a mask is a pure function of (noise key, layer, adapter). torch's RNG cannot be matched; the
 * tests hand these masks to peft instead.
 */
import { mulberry32 } from '../calib/prng.js';

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

/** M [rows, cols] row-major: 0 with probability p, else 1 / (1 − p). */
export function dropoutMask(p: number, seed: number, rows: number, cols: number): Float32Array {
  const random = mulberry32(seed);
  const kept = 1 / (1 - p);
  const mask = new Float32Array(rows * cols);
  for (let i = 0; i < mask.length; i++) mask[i] = random() < p ? 0 : kept;
  return mask;
}

/** The mask of adapter `adapter` of layer `layer` for the micro-batch with noise key `key`. */
export function adapterMask(p: number, key: number, layer: number, adapter: number, rows: number, cols: number): Float32Array {
  return dropoutMask(p, mixSeed(key, layer, adapter), rows, cols);
}
