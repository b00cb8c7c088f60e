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
  /** [B, T] RoPE positions; default P..P+T-1 on every row (what transformers' forward uses). */
  positions: Int32Array;
  /** Tokens already in the KV cache before these: P and which of them are real, [B, P]. */
  past?: { length: number; mask: Uint8Array };
}

/**
 * Pad sequences to one length (right padding unless `side` says left). With `past`, the sequences
 * continue P cached tokens: positions start after the row's real cached tokens, and every query
 * may attend them.
 */
export function padBatch(
  seqs: readonly (readonly number[])[],
  padId = 0,
  side: 'left' | 'right' = 'right',
  past?: TokenBatch['past'],
): TokenBatch {
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
  // a continuation's positions follow its row's REAL cached tokens (contexts of different lengths
  // share one padded cache); transformers' generate() numbers positions the same way
  const positions = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    let offset = 0;
    if (past) for (let k = 0; k < past.length; k++) offset += past.mask[b * past.length + k];
    for (let t = 0; t < seqLen; t++) positions[b * seqLen + t] = offset + t;
  }
  return { batch, seqLen, ids, mask, positions, past };
}

/**
 * [B, 1, 1, T, P + T] additive bias: 0 where query t may attend key s, MASK_MIN elsewhere. Keys
 * are the P cached tokens then the T new ones. Causality goes by cache index; a sliding window
 * by RoPE position (a cached key's position is the number of real cached keys before it), so a
 * row whose cached context is shorter than the cache, padding after it, still sees its last
 * `slidingWindow` tokens as transformers does.
 */
export function attentionBias(b: TokenBatch, slidingWindow?: number): Float32Array {
  const T = b.seqLen;
  const P = b.past?.length ?? 0;
  const K = P + T;
  const out = new Float32Array(b.batch * T * K).fill(MASK_MIN);
  const keyIsReal = (bi: number, k: number) => (k < P ? b.past!.mask[bi * P + k] : b.mask[bi * T + k - P]) === 1;
  const keyPosition = new Int32Array(K);
  for (let bi = 0; bi < b.batch; bi++) {
    let realCached = 0;
    for (let k = 0; k < P; k++) {
      keyPosition[k] = realCached;
      realCached += b.past!.mask[bi * P + k];
    }
    for (let k = P; k < K; k++) keyPosition[k] = b.positions[bi * T + k - P];
    for (let q = 0; q < T; q++) {
      const row = (bi * T + q) * K;
      const position = b.positions[bi * T + q];
      for (let k = 0; k <= P + q; k++) {
        const inWindow = slidingWindow === undefined || position - keyPosition[k] < slidingWindow;
        if (inWindow && keyIsReal(bi, k)) out[row + k] = 0;
      }
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
