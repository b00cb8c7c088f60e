/**
 * lm-eval's rolling loglikelihood windows (lm_eval/utils.py `get_rolling_token_windows` and
 * `make_disjoint_window`, called by HFLM.loglikelihood_rolling with context_len = 1), turned into
 * CausalLM.loglikelihood requests. Every token of the document is predicted exactly once; the
 * first window conditions on a prefix token, later ones on the tokens before them.
 */
import type { LoglikelihoodRequest } from '../../engine/causal-lm.js';

export interface RollingWindow {
  /** Tokens fed to the model (max_seq_len of them). */
  input: number[];
  /** The tokens it predicts: the last `predicted.length` of input shifted by one. */
  predicted: number[];
}

/** `get_rolling_token_windows(token_list, prefix_token, max_seq_len, context_len)`. */
export function rollingTokenWindows(tokens: readonly number[], prefixToken: number, maxSeqLen: number, contextLen = 1): RollingWindow[] {
  if (!(contextLen >= 1 && contextLen <= maxSeqLen)) throw new Error(`rolling windows: context length ${contextLen} outside [1, ${maxSeqLen}]`);
  if (tokens.length === 0) return [];
  const predLen = maxSeqLen - contextLen + 1;
  const firstLen = Math.min(maxSeqLen, tokens.length);
  const windows: RollingWindow[] = [{ input: [prefixToken, ...tokens.slice(0, firstLen - 1)], predicted: tokens.slice(0, firstLen) }];
  let predicted = firstLen;
  while (predicted < tokens.length) {
    const windowPredLen = Math.min(tokens.length - predicted, predLen);
    const windowEnd = predicted + windowPredLen;
    // windowEnd > maxSeqLen here (the first window was full): the start is never negative.
    windows.push({
      input: tokens.slice(windowEnd - maxSeqLen - 1, windowEnd - 1),
      predicted: tokens.slice(windowEnd - windowPredLen, windowEnd),
    });
    predicted += windowPredLen;
  }
  return windows;
}

/** `make_disjoint_window`: the context shrinks to the tokens before the first predicted one. */
export function makeDisjointWindow({ input, predicted }: RollingWindow): { context: number[]; continuation: number[] } {
  return { context: input.slice(0, input.length - (predicted.length - 1)), continuation: predicted };
}

/**
 * As HFLM._loglikelihood_tokens scores (context, continuation): context + continuation is at most
 * max_seq_len + 1 tokens here, so its left truncation never applies. The request carries the last
 * token too (it is a target); its own position's output is unused.
 */
export function rollingRequests(tokens: readonly number[], prefixToken: number, maxSeqLen: number): LoglikelihoodRequest[] {
  return rollingTokenWindows(tokens, prefixToken, maxSeqLen).map((window) => {
    const { context, continuation } = makeDisjointWindow(window);
    return { tokens: [...context, ...continuation], scoreFrom: context.length };
  });
}
