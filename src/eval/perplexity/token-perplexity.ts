/**
 * Token perplexity as SparseGPT, Wanda and SliceGPT report WikiText-2: the joined test text is
 * tokenized once (default special tokens: one BOS at the very start for LLaMA-style tokenizers),
 * cut into non-overlapping windows of `ctx` tokens with the last partial window DROPPED (their
 * `nsamples = numel // seqlen`), each window scored from its 2nd token with no context carried
 * over; PPL = exp(Σ NLL / number of predicted tokens).
 */
import type { LoglikelihoodRequest } from '../../engine/causal-lm.js';

export interface TokenWindows {
  requests: LoglikelihoodRequest[];
  /** Full windows in the text (before --limit). */
  available: number;
}

/** The first `limit` full windows of `ctx` tokens (all when limit is undefined). */
export function tokenWindows(ids: readonly number[], ctx: number, limit?: number): TokenWindows {
  const available = Math.floor(ids.length / ctx);
  const count = Math.min(available, limit ?? available);
  const requests: LoglikelihoodRequest[] = [];
  for (let w = 0; w < count; w++) requests.push({ tokens: ids.slice(w * ctx, (w + 1) * ctx), scoreFrom: 1 });
  return { requests, available };
}

export interface TokenPerplexity {
  perplexity: number;
  /** Σ negative log-likelihood (nats) and the tokens it is over. */
  nll: number;
  predictedTokens: number;
}

export function tokenPerplexity(requests: readonly LoglikelihoodRequest[], logprobs: Float64Array): TokenPerplexity {
  const nll = -logprobs.reduce((a, x) => a + x, 0);
  const predictedTokens = requests.reduce((a, r) => a + r.tokens.length - r.scoreFrom, 0);
  return { perplexity: Math.exp(nll / predictedTokens), nll, predictedTokens };
}
