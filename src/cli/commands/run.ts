/**
 * `amp-prune run MODEL --prompt "..."`: generate on our engine, printing text to stdout as each
 * token arrives (how a user tries a pruned model in a terminal). Greedy unless --temperature > 0;
 * a seed makes sampling repeatable. --chat wraps the prompt in the tokenizer's chat template.
 * MODEL is a Hugging Face folder, a .gguf file (converted once), or a folder written by
 * `export --format onnx`, whose own graph then runs (with its KV cache) instead of ours.
 */
import { generate } from '../../engine/decode.js';
import { CausalLM } from '../../engine/causal-lm.js';
import { ExportedOnnxLM, isOnnxExportFolder } from '../../engine/exported-onnx-lm.js';
import { makeSampler } from '../../engine/sampling.js';
import { parseDevice } from '../../engine/session.js';
import { ensureHfCheckpoint } from '../../convert/ensure-hf.js';
import { UsageError, UserError } from '../../errors.js';
import { renderChat } from '../../io/chat-template.js';
import { stopTokenIds } from '../../io/generation-config.js';
import { loadTokenizer } from '../../io/tokenizer.js';
import type { GlobalOptions } from '../program.js';

export interface RunFlags {
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  chat?: boolean;
  json?: boolean;
}

function checkFlags(flags: RunFlags): void {
  if (!(flags.temperature >= 0)) throw new UsageError(`--temperature must be >= 0 (0 = greedy), got ${flags.temperature}`);
  if (!(flags.topP > 0 && flags.topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got ${flags.topP}`);
}

/** Text of `ids` as it grows, without cutting a character whose bytes span tokens. */
class TextStream {
  private shown = '';
  constructor(private readonly decode: (ids: number[]) => string) {}

  /** The new text since the last call, or '' while the tail is an incomplete character. */
  next(ids: number[]): string {
    const text = this.decode(ids);
    if (text.endsWith('\uFFFD') || !text.startsWith(this.shown)) return '';
    const fresh = text.slice(this.shown.length);
    this.shown = text;
    return fresh;
  }

  /** Whatever is still held back (a tail that never became a whole character). */
  rest(ids: number[]): string {
    const text = this.decode(ids);
    return text.startsWith(this.shown) ? text.slice(this.shown.length) : '';
  }
}

export async function runCommand(model: string, flags: RunFlags, global: GlobalOptions): Promise<void> {
  checkFlags(flags);
  const dir = await ensureHfCheckpoint(model);
  const tokenizer = await loadTokenizer(dir);
  const text = flags.chat ? await renderChat(dir, [{ role: 'user', content: flags.prompt }]) : flags.prompt;
  // A rendered template already holds its special tokens (transformers tokenizes it without adding any).
  const prompt = tokenizer.encode(text, { addSpecialTokens: !flags.chat });
  if (prompt.length === 0) throw new UserError('--prompt encodes to no tokens (and the tokenizer adds no BOS): give some text');
  const stop = await stopTokenIds(dir, tokenizer.eosId);
  const session = { device: parseDevice(global.device), threads: global.threads };
  const lm = (await isOnnxExportFolder(dir)) ? await ExportedOnnxLM.load(dir, session) : await CausalLM.load(dir, session);
  try {
    const limit = lm.maxLength === undefined ? flags.maxNewTokens : Math.min(flags.maxNewTokens, lm.maxLength - prompt.length);
    if (limit <= 0) throw new UserError(`the prompt has ${prompt.length} tokens, the model's limit (max_position_embeddings ${lm.maxLength})`);
    const generated: number[] = [];
    const stream = new TextStream((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
    const result = await generate(lm, prompt, {
      maxNewTokens: limit,
      sample: makeSampler({ temperature: flags.temperature, topP: flags.topP, seed: flags.seed }),
      stopTokens: stop,
      onToken: (token) => {
        if (stop.has(token)) return;
        generated.push(token);
        if (!flags.json) process.stdout.write(stream.next(generated));
      },
    });
    const decodeSeconds = result.stepSeconds.reduce((a, b) => a + b, 0);
    const stats = {
      promptTokens: prompt.length,
      newTokens: result.tokens.length,
      stopped: stop.has(result.tokens[result.tokens.length - 1]) ? 'eos' : 'max-new-tokens',
      timeToFirstTokenSeconds: result.prefillSeconds,
      decodeTokensPerSecond: result.stepSeconds.length > 0 ? result.stepSeconds.length / decodeSeconds : null,
    };
    if (flags.json) {
      console.log(JSON.stringify({ prompt: text, promptIds: prompt, ids: result.tokens, text: tokenizer.decode(generated, { skipSpecialTokens: true }), ...stats }));
      return;
    }
    process.stdout.write(`${stream.rest(generated)}\n`);
    const speed = stats.decodeTokensPerSecond === null ? '' : `, ${stats.decodeTokensPerSecond.toFixed(1)} tokens/s decoding`;
    process.stderr.write(`[${stats.newTokens} tokens (${stats.stopped}), first after ${(stats.timeToFirstTokenSeconds * 1000).toFixed(0)} ms${speed}]\n`);
  } finally {
    await lm.close();
  }
}
