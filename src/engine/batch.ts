/**
 * A padded batch of token sequences and the per-batch tensors every graph reads: the additive
 * attention bias (causal + padding, optionally a sliding window), RoPE tables, token weights.
 * Built once per batch in JS — O(B·T²) floats, small next to the forward pass.
 */
import type { RopeSpec } from '../arch/rope.js';
import { rotaryTables } from '../arch/rope.js';

/** The mask value transformers uses: float32's most negative finite number. */
export const MASK_MIN = -3.4028234663852886e38;

export interface TokenBatch {
  batch: number;
  seqLen: number;
  /** [B, T] token ids, padding included. */
  ids: Int32Array;
  /** [B, T] 1 = real token, 0 = padding. */
  mask: Uint8Array;
  /** [B, T] RoPE positions; default 0..T-1 on every row (what transformers' forward uses). */
  positions: Int32Array;
}

/** Pad sequences to one length (right padding unless `side` says left). */
export function padBatch(seqs: readonly (readonly number[])[], padId = 0, side: 'left' | 'right' = 'right'): TokenBatch {
  if (seqs.length === 0) throw new Error('padBatch: no sequences');
  const seqLen = Math.max(...seqs.map((s) => s.length));
  const batch = seqs.length;
  const ids = new Int32Array(batch * seqLen).fill(padId);
  const mask = new Uint8Array(batch * seqLen);
  seqs.forEach((s, b) => {
    const start = side === 'left' ? seqLen - s.length : 0;
    for (let t = 0; t < s.length; t++) {
      ids[b * seqLen + start + t] = s[t];
      mask[b * seqLen + start + t] = 1;
    }
  });
  const positions = new Int32Array(batch * seqLen);
  for (let i = 0; i < positions.length; i++) positions[i] = i % seqLen;
  return { batch, seqLen, ids, mask, positions };
}

/** [B, 1, 1, T, T] additive bias: 0 where query t may attend key s, MASK_MIN elsewhere. */
export function attentionBias(b: TokenBatch, slidingWindow?: number): Float32Array {
  const T = b.seqLen;
  const out = new Float32Array(b.batch * T * T).fill(MASK_MIN);
  for (let bi = 0; bi < b.batch; bi++) {
    for (let q = 0; q < T; q++) {
      const row = (bi * T + q) * T;
      const first = slidingWindow === undefined ? 0 : Math.max(0, q - slidingWindow + 1);
      for (let k = first; k <= q; k++) if (b.mask[bi * T + k]) out[row + k] = 0;
    }
  }
  return out;
}

export function tokenWeights(b: TokenBatch): Float32Array {
  return Float32Array.from(b.mask);
}

/** Real tokens per sequence. */
export function sequenceLengths(b: TokenBatch): number[] {
  return Array.from({ length: b.batch }, (_, bi) => {
    let n = 0;
    for (let t = 0; t < b.seqLen; t++) n += b.mask[bi * b.seqLen + t];
    return n;
  });
}

export function ropeInputs(rope: RopeSpec, b: TokenBatch): { cos: Float32Array; sin: Float32Array } {
  return rotaryTables(rope, b.positions, b.batch, b.seqLen);
}
