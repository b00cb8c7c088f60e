/**
 * (context, continuation) strings -> a scored token sequence, exactly as lm-evaluation-harness
 * 0.4.x does for its Hugging Face backend (`TemplateLM.loglikelihood`, `_encode_pair`,
 * `HFLM.tok_encode`, `HFLM._loglikelihood_tokens`):
 *
 * - Trailing whitespace of the context moves to the front of the continuation (so " yes" keeps
 *   its word-boundary space in the continuation's tokens).
 * - whole = encode(context + continuation) and ctx = encode(context), both with the tokenizer's
 *   own special tokens (HF add_special_tokens=True: BOS for LLaMA-style tokenizers, nothing for
 *   GPT-2-style ones) unless the text already starts with the prefix token's text (BOS, else EOS:
 *   lm-eval's prefix_token_id, decoded). The continuation's tokens are whole[len(ctx):]: encoding
 *   the whole string keeps merges across the boundary.
 * - An empty context is replaced by the prefix token.
 * - Left truncation to the last maxLength + 1 tokens: lm-eval feeds the first maxLength of them,
 *   and each scored token is predicted from the ones before it, so nothing beyond maxLength counts.
 */
import type { LoglikelihoodRequest } from '../../engine/causal-lm.js';
import type { ModelTokenizer } from '../../io/tokenizer.js';
import { pyRstrip } from './text.js';

/** lm-eval's fallback when the model config states no length (its DEFAULT_MAX_LENGTH). */
export const DEFAULT_MAX_LENGTH = 2048;

export class PairEncoder {
  private readonly prefixId: number | undefined;
  private readonly prefixText: string | undefined;
  private lastContext: { text: string; ids: number[] } | undefined;

  constructor(
    private readonly tokenizer: ModelTokenizer,
    private readonly maxLength: number = DEFAULT_MAX_LENGTH,
  ) {
    this.prefixId = tokenizer.bosId ?? tokenizer.eosId;
    this.prefixText = this.prefixId === undefined ? undefined : tokenizer.decode([this.prefixId]);
  }

  /** HFLM.tok_encode with default arguments: no special tokens when the text starts with the prefix token's text. */
  private encode(text: string): number[] {
    const startsWithPrefix = this.prefixText !== undefined && text.startsWith(this.prefixText);
    return this.tokenizer.encode(text, { addSpecialTokens: !startsWithPrefix });
  }

  /** Context ids, reused while consecutive requests share a context (all choices of most items). */
  private encodeContext(context: string): number[] {
    if (this.lastContext?.text !== context) this.lastContext = { text: context, ids: this.encode(context) };
    return this.lastContext.ids;
  }

  /** Context and continuation token ids before truncation. */
  encodePair(context: string, continuation: string): { context: number[]; continuation: number[] } {
    if (context === '') {
      const ids = this.tokenizer.encode(continuation, { addSpecialTokens: false });
      if (this.prefixId === undefined) throw new Error('an empty context needs a BOS or EOS token to stand for it');
      return ids[0] === this.prefixId ? { context: ids.slice(0, 1), continuation: ids.slice(1) } : { context: [this.prefixId], continuation: ids };
    }
    const kept = pyRstrip(context);
    const moved = context.slice(kept.length);
    const contextIds = this.encodeContext(kept);
    const whole = this.encode(kept + moved + continuation);
    return { context: contextIds, continuation: whole.slice(contextIds.length) };
  }

  /** The request CausalLM.loglikelihood scores; throws where lm-eval's own assertions would fail. */
  request(context: string, continuation: string): LoglikelihoodRequest {
    const pair = this.encodePair(context, continuation);
    const n = pair.continuation.length;
    if (n === 0) throw new Error(`continuation ${JSON.stringify(continuation)} encodes to no tokens after its context`);
    if (n > this.maxLength) throw new Error(`its continuation alone is ${n} tokens, longer than the model's context of ${this.maxLength}`);
    const tokens = [...pair.context, ...pair.continuation].slice(-(this.maxLength + 1));
    return { tokens, scoreFrom: tokens.length - n };
  }
}
