/**
 * The wikitext2 task's numbers against Python: token perplexity against transformers on the same
 * windows (Wanda-style loop in perplexity_reference.py), and lm-eval's word/byte perplexity and
 * bits per byte against lm-evaluation-harness itself (its wikitext task, documents from a local
 * file), on tiny fixtures with --limit.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { WIKITEXT2 } from '../../src/eval/perplexity/wikitext2.js';
import { WIKITEXT2_TEST_FILE } from '../../src/eval/perplexity/wikitext-documents.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { fixtureDir, REPO_ROOT, runPython } from '../helpers/python.js';

const DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');
const REFERENCE = join(REPO_ROOT, 'tests', 'fixtures', 'perplexity_reference.py');
const TEXT = join(DATA_DIR, WIKITEXT2_TEST_FILE);
const RELATIVE_TOLERANCE = 1e-4;

function assertClose(actual: number, expected: number, what: string): void {
  const relative = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(relative <= RELATIVE_TOLERANCE, `${what}: ${actual} vs ${expected} (relative ${relative.toExponential(2)})`);
}

interface Case {
  fixture: string;
  /** --ctx; undefined = defaults (2048 capped at the model's 128; lm-eval: the model's 128). */
  ctx?: number;
  limit: number;
  /** The window length the defaults resolve to. */
  window: number;
}

const CASES: Case[] = [
  { fixture: 'llama-mha', ctx: 64, limit: 2, window: 64 }, // LLaMA-2 tokenizer: BOS added, BOS prefix
  { fixture: 'phi', limit: 2, window: 128 }, // GPT-2-style tokenizer: nothing added, <|endoftext|> prefix
];

interface TokenReference {
  ppl: number;
  tokens: number;
  windows: number;
}
interface LmEvalReference {
  word_perplexity: number;
  byte_perplexity: number;
  bits_per_byte: number;
}

/** Every case's two answers from one Python process, running while our side computes. */
let references: Promise<{ token: TokenReference; lmEval: LmEvalReference }[]>;

before(async () => {
  const dirs = await Promise.all(CASES.map((c) => fixtureDir(c.fixture)));
  const requests = CASES.flatMap((c, i) => [
    ['token-ppl', '--model', dirs[i], '--text', TEXT, '--ctx', String(c.window), '--limit', String(c.limit)],
    ['lm-eval', '--model', dirs[i], '--text', TEXT, '--limit', String(c.limit), ...(c.ctx ? ['--max-length', String(c.ctx)] : [])],
  ]);
  references = runPython([REFERENCE, 'batch', '--requests', JSON.stringify(requests)]).then((stdout) => {
    const { results } = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { results: (TokenReference | LmEvalReference)[] };
    return CASES.map((_, i) => ({ token: results[2 * i] as TokenReference, lmEval: results[2 * i + 1] as LmEvalReference }));
  });
  references.catch(() => undefined); // the tests await it and report the failure
});

for (const [i, c] of CASES.entries()) {
  test(`wikitext2 equals transformers (token perplexity) and lm-eval (wikitext metrics): ${c.fixture}`, async () => {
    const dir = await fixtureDir(c.fixture);
    const model = await CausalLM.load(dir, { threads: 1 });
    try {
      const tokenizer = await loadTokenizer(dir);
      const result = await WIKITEXT2.run({ model, tokenizer, dataDir: DATA_DIR, limit: c.limit, contextLength: c.ctx });
      const counts = result.counts ?? {};
      assert.equal(counts.token_window_length, c.window);
      assert.equal(counts.rolling_max_length, c.window);
      assert.equal(result.items, c.limit);

      const { token, lmEval } = (await references)[i];
      assert.equal(counts.token_windows, token.windows);
      assert.equal(counts.predicted_tokens, token.tokens);
      assertClose(result.metrics.token_perplexity.value, token.ppl, 'token_perplexity');

      assert.ok(counts.rolling_windows > c.limit, 'documents span several rolling windows');
      assertClose(result.metrics.word_perplexity.value, lmEval.word_perplexity, 'word_perplexity');
      assertClose(result.metrics.byte_perplexity.value, lmEval.byte_perplexity, 'byte_perplexity');
      assertClose(result.metrics.bits_per_byte.value, lmEval.bits_per_byte, 'bits_per_byte');
    } finally {
      await model.close();
    }
  });
}
