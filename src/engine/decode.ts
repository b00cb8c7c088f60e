/**
 * Decoding with the KV cache: prefill the prompt once, then one token per step on top of the
 * cache. Used by the speed benchmark (time to first token, decode tokens/s) and by `run`.
 */
import { type TokenBatch, padBatch } from './batch.js';
import type { KvCache } from './kv-cache.js';
import { type Sampler, argmax } from './sampling.js';
import type { OutputTensor } from './session.js';

/** What decoding needs of a model: CausalLM, or an exported ONNX folder (exported-onnx-lm.ts). */
export interface DecodingModel {
  readonly spec: { readonly vocab: number };
  run(tokens: TokenBatch, opts: { past?: KvCache; logits?: boolean; cache?: boolean }): Promise<{ logits?: OutputTensor; cache?: KvCache }>;
}

export interface DecodeResult {
  /** Generated token ids (the prompt excluded; a stop token, when reached, is the last). */
  tokens: number[];
  /** Seconds for the prompt pass (≈ time to first token). */
  prefillSeconds: number;
  /** Seconds for each later step. */
  stepSeconds: number[];
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** Default: greedy. */
  sample?: Sampler;
  /** Generation ends after any of these tokens. */
  stopTokens?: ReadonlySet<number>;
  /** Called with each token as soon as it is chosen. */
  onToken?: (token: number) => void;
}

function lastRow(logits: Float32Array, vocab: number): Float32Array {
  return logits.subarray(logits.length - vocab);
}

export async function generate(lm: DecodingModel, prompt: readonly number[], options: GenerateOptions): Promise<DecodeResult> {
  const V = lm.spec.vocab;
  const sample = options.sample ?? argmax;
  let start = performance.now();
  let out = await lm.run(padBatch([prompt]), { logits: true, cache: true });
  const prefillSeconds = (performance.now() - start) / 1000;
  const tokens: number[] = [];
  const stepSeconds: number[] = [];
  for (;;) {
    const token = sample(lastRow(out.logits!.data, V));
    tokens.push(token);
    options.onToken?.(token);
    if (tokens.length >= options.maxNewTokens || options.stopTokens?.has(token)) break;
    const cache = out.cache!;
    start = performance.now();
    out = await lm.run(padBatch([[token]], 0, 'right', { length: cache.length, mask: cache.mask }), { past: cache, logits: true, cache: true });
    stepSeconds.push((performance.now() - start) / 1000);
  }
  return { tokens, prefillSeconds, stepSeconds };
}

/** `steps` greedy tokens, never stopping early. */
export function greedyDecode(lm: DecodingModel, prompt: readonly number[], steps: number): Promise<DecodeResult> {
  return generate(lm, prompt, { maxNewTokens: steps });
}
