/**
 * A greedy continuation of a short prompt, as text: what a person reads to judge a pruned model,
 * beside the numbers. Stops at the end-of-sequence token.
 */
import { CausalLM } from '../engine/causal-lm.js';
import { greedyDecode } from '../engine/decode.js';
import type { SessionOptions } from '../engine/session.js';
import { loadTokenizer } from '../io/tokenizer.js';

export async function greedyContinuation(model: string, prompt: string, maxNewTokens: number, session: SessionOptions = {}): Promise<string> {
  const tokenizer = await loadTokenizer(model);
  const lm = await CausalLM.load(model, session);
  try {
    const { tokens } = await greedyDecode(lm, tokenizer.encode(prompt), maxNewTokens);
    const end = tokenizer.eosId === undefined ? -1 : tokens.indexOf(tokenizer.eosId);
    return tokenizer.decode(end < 0 ? tokens : tokens.slice(0, end), { skipSpecialTokens: true }).replace(/\s+/g, ' ').trim();
  } finally {
    await lm.close();
  }
}
