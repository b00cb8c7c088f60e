/**
 * lm-eval's `wikitext` task (v2.0; lm-eval 0.4.13's HFLM): each document's target is the
 * detokenized page, encoded as HFLM.tok_encode does (the tokenizer's default special tokens, so a
 * LLaMA-style tokenizer adds BOS, unless the text already starts with the prefix token's text),
 * scored by rolling windows of the model's max length that start from the prefix token (BOS, else
 * EOS). With a BOS-adding tokenizer that means [BOS, BOS, ...] with the second BOS scored — what
 * lm-eval does today, kept for comparable numbers.
 *
 * Metrics (lm_eval/api/metrics.py), with words and bytes counted on the page BEFORE detokenizing:
 *   word_perplexity = exp(-Σ ll / Σ words), byte_perplexity = exp(-Σ ll / Σ bytes),
 *   bits_per_byte = -Σ ll / Σ bytes / ln 2. lm-eval reports no standard error for them.
 */
import type { LoglikelihoodRequest } from '../../engine/causal-lm.js';
import { UserError } from '../../errors.js';
import type { ModelTokenizer } from '../../io/tokenizer.js';
import { rollingRequests } from './rolling-windows.js';
import { countUtf8Bytes, countWords, wikitextDetokenize } from './wikitext-detokenize.js';

export interface DocumentWindows {
  requests: LoglikelihoodRequest[];
  documents: number;
  words: number;
  bytes: number;
}

/** HFLM.prefix_token_id: BOS when the tokenizer names one, else EOS. */
export function prefixTokenId(tokenizer: ModelTokenizer): number {
  const id = tokenizer.bosId ?? tokenizer.eosId;
  if (id === undefined) throw new UserError("the tokenizer names neither a BOS nor an EOS token; lm-eval's rolling loglikelihood needs one as the first context");
  return id;
}

export function documentWindows(pages: readonly string[], tokenizer: ModelTokenizer, maxLength: number): DocumentWindows {
  const prefix = prefixTokenId(tokenizer);
  const prefixText = tokenizer.decode([prefix]);
  const out: DocumentWindows = { requests: [], documents: pages.length, words: 0, bytes: 0 };
  for (const page of pages) {
    const target = wikitextDetokenize(page);
    const tokens = tokenizer.encode(target, { addSpecialTokens: !target.startsWith(prefixText) });
    out.requests.push(...rollingRequests(tokens, prefix, maxLength));
    out.words += countWords(page);
    out.bytes += countUtf8Bytes(page);
  }
  return out;
}

export interface LmEvalWikitextMetrics {
  wordPerplexity: number;
  bytePerplexity: number;
  bitsPerByte: number;
  /** Σ log-likelihood (nats) over all documents. */
  logLikelihood: number;
}

export function lmEvalWikitextMetrics(windows: DocumentWindows, logprobs: Float64Array): LmEvalWikitextMetrics {
  const ll = logprobs.reduce((a, x) => a + x, 0);
  return {
    wordPerplexity: Math.exp(-ll / windows.words),
    bytePerplexity: Math.exp(-ll / windows.bytes),
    bitsPerByte: -ll / windows.bytes / Math.LN2,
    logLikelihood: ll,
  };
}
