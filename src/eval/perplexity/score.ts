/** Log-likelihoods of many token windows through CausalLM.loglikelihood, batched by a size hint. */
import type { CausalLM, LoglikelihoodRequest } from '../../engine/causal-lm.js';

/** Padded tokens per forward pass when no batch size is asked (CausalLM's own default). */
const DEFAULT_BATCH_TOKENS = 4096;

export interface ScoreOptions {
  /** Windows per forward pass; default: as many as fit DEFAULT_BATCH_TOKENS (at least one). */
  batchSize?: number;
  /** Called with the number of windows scored so far. */
  onProgress?: (done: number) => void;
}

/** Σ log p over each request's scored tokens, in request order. */
export async function scoreWindows(model: CausalLM, requests: readonly LoglikelihoodRequest[], opts: ScoreOptions = {}): Promise<Float64Array> {
  if (requests.length === 0) return new Float64Array(0);
  const longest = requests.reduce((max, r) => Math.max(max, r.tokens.length), 0);
  const results = await model.loglikelihood(requests, {
    maxBatchSize: opts.batchSize,
    maxBatchTokens: opts.batchSize ? opts.batchSize * longest : Math.max(DEFAULT_BATCH_TOKENS, longest),
    onProgress: (done) => opts.onProgress?.(done),
  });
  return Float64Array.from(results, (r) => r.logprob);
}
