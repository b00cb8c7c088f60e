/**
 * The `wikitext2` task: WikiText-2 raw test perplexity in both conventions people report, from one
 * data file — token perplexity (pruning papers) and lm-eval's `wikitext` metrics. `--limit N`
 * takes the first N windows of the former and the first N documents of the latter.
 */
import { join } from 'node:path';
import { UsageError, UserError } from '../../errors.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { documentWindows, lmEvalWikitextMetrics } from './lm-eval-wikitext.js';
import { scoreWindows } from './score.js';
import { tokenPerplexity, tokenWindows } from './token-perplexity.js';
import { readWikitextTest, WIKITEXT2_TEST_FILE, wikitextDocuments } from './wikitext-documents.js';

/** SliceGPT's default evaluation length (and SparseGPT's for OPT/LLaMA-1, their max length). */
const PAPER_WINDOW = 2048;
/** HFLM._DEFAULT_MAX_LENGTH: lm-eval's max length when the config states none. */
const LM_EVAL_DEFAULT_MAX_LENGTH = 2048;

interface WindowLengths {
  /** Tokens per token-perplexity window. */
  tokenWindow: number;
  /** lm-eval's max_length for the rolling windows. */
  rollingMax: number;
}

/** `--ctx` sets both; by default papers use 2048 (or less) and lm-eval the model's own maximum. */
function windowLengths(ctx: TaskContext): WindowLengths {
  const modelMax = ctx.model.maxLength;
  const asked = ctx.contextLength;
  if (asked === undefined) {
    return { tokenWindow: Math.min(PAPER_WINDOW, modelMax ?? PAPER_WINDOW), rollingMax: modelMax ?? LM_EVAL_DEFAULT_MAX_LENGTH };
  }
  if (!Number.isInteger(asked) || asked < 2) throw new UsageError(`--ctx must be a whole number >= 2 (got ${asked})`);
  if (modelMax !== undefined && asked > modelMax) throw new UserError(`--ctx ${asked} exceeds the model's max_position_embeddings (${modelMax})`);
  return { tokenWindow: asked, rollingMax: asked };
}

async function run(ctx: TaskContext): Promise<TaskResult> {
  const started = performance.now();
  const lengths = windowLengths(ctx);
  const joined = await readWikitextTest(ctx.dataDir);
  // Before tokenizing: a damaged file should fail at once, not after the slow encode.
  const allPages = wikitextDocuments(joined, join(ctx.dataDir, WIKITEXT2_TEST_FILE));
  const { tokenizer } = ctx;

  const ids = tokenizer.encode(joined);
  const tokenPart = tokenWindows(ids, lengths.tokenWindow, ctx.limit);
  if (tokenPart.requests.length === 0) throw new UserError(`the WikiText-2 text holds fewer than ${lengths.tokenWindow} tokens: no full window to score`);
  const pages = allPages.slice(0, ctx.limit ?? allPages.length);
  const docPart = documentWindows(pages, tokenizer, lengths.rollingMax);

  const total = tokenPart.requests.length + docPart.requests.length;
  const scoreOpts = (offset: number) => ({ batchSize: ctx.batchSize, onProgress: (done: number) => ctx.progress?.(offset + done, total) });
  const tokenLogprobs = await scoreWindows(ctx.model, tokenPart.requests, scoreOpts(0));
  const docLogprobs = await scoreWindows(ctx.model, docPart.requests, scoreOpts(tokenPart.requests.length));

  const token = tokenPerplexity(tokenPart.requests, tokenLogprobs);
  const lmEval = lmEvalWikitextMetrics(docPart, docLogprobs);
  const prefixName = tokenizer.bosId !== undefined ? 'BOS' : 'EOS'; // lm-eval's choice, see prefixTokenId
  return {
    task: 'wikitext2',
    metrics: {
      token_perplexity: { value: token.perplexity },
      word_perplexity: { value: lmEval.wordPerplexity },
      byte_perplexity: { value: lmEval.bytePerplexity },
      bits_per_byte: { value: lmEval.bitsPerByte },
    },
    items: docPart.documents,
    primaryMetric: 'token_perplexity',
    notes: [
      `token_perplexity: SparseGPT/Wanda/SliceGPT convention — the joined test text tokenized once, ` +
        `${tokenPart.requests.length} of ${tokenPart.available} non-overlapping ${lengths.tokenWindow}-token windows ` +
        `(the last partial window dropped), each scored from its 2nd token`,
      `word_perplexity, byte_perplexity, bits_per_byte: lm-eval's wikitext task (v2.0) — ${docPart.documents} of ` +
        `${allPages.length} documents, detokenized, rolling ${lengths.rollingMax}-token windows from a ${prefixName} ` +
        `prefix; words and bytes counted before detokenizing`,
    ],
    counts: {
      token_windows: tokenPart.requests.length,
      token_window_length: lengths.tokenWindow,
      predicted_tokens: token.predictedTokens,
      documents: docPart.documents,
      rolling_windows: docPart.requests.length,
      rolling_max_length: lengths.rollingMax,
      words: docPart.words,
      bytes: docPart.bytes,
    },
    seconds: (performance.now() - started) / 1000,
  };
}

export const WIKITEXT2: Task = {
  name: 'wikitext2',
  description: 'WikiText-2 raw test perplexity: token perplexity (pruning papers) and lm-eval wikitext word/byte perplexity, bits per byte',
  files: [WIKITEXT2_TEST_FILE],
  run,
};
