/**
 * Greedy decoding with the KV cache: prefill the prompt once, then one token per step on top of
 * the cache. Used by the speed benchmark (time to first token, decode tokens/s) and generation.
 */
import { padBatch } from './batch.js';
import type { CausalLM } from './causal-lm.js';

export interface DecodeResult {
  /** Generated token ids (the prompt excluded). */
  tokens: number[];
  /** Seconds for the prompt pass (≈ time to first token). */
  prefillSeconds: number;
  /** Seconds for each later step. */
  stepSeconds: number[];
}

function argmaxLast(logits: Float32Array, vocab: number): number {
  const row = logits.subarray(logits.length - vocab);
  let best = 0;
  for (let i = 1; i < vocab; i++) if (row[i] > row[best]) best = i;
  return best;
}

export async function greedyDecode(lm: CausalLM, prompt: readonly number[], steps: number): Promise<DecodeResult> {
  const V = lm.spec.vocab;
  let start = performance.now();
  let out = await lm.run(padBatch([prompt]), { logits: true, cache: true });
  const prefillSeconds = (performance.now() - start) / 1000;
  const tokens = [argmaxLast(out.logits!.data, V)];
  const stepSeconds: number[] = [];
  while (tokens.length < steps) {
    const cache = out.cache!;
    start = performance.now();
    out = await lm.run(padBatch([[tokens[tokens.length - 1]]], 0, 'right', { length: cache.length, mask: cache.mask }), { past: cache, logits: true, cache: true });
    stepSeconds.push((performance.now() - start) / 1000);
    tokens.push(argmaxLast(out.logits!.data, V));
  }
  return { tokens, prefillSeconds, stepSeconds };
}
