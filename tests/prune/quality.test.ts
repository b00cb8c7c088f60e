/**
 * Pruning on a model with real structure: AMP keeps perplexity close to dense, and its reversed
 * order (pruning the most important structures) collapses it — the sanity check AMP-SPEC names.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/python.js';
import { trainedFixture } from '../helpers/trained.js';

const DATA = join(REPO_ROOT, '..', 'shared', 'data');
const WIKITEXT = join(DATA, 'wikitext2', 'derived_raw_hf_joined', 'wikitext-test.txt');
const ALPACA = join(DATA, 'alpaca', 'alpaca_5000.json');

/** Token perplexity over the first `windows` non-overlapping 128-token windows of WikiText-2 test. */
async function perplexity(dir: string, windows = 40): Promise<number> {
  const text = readFileSync(WIKITEXT, 'utf8').replace(/\r/g, '').slice(0, 80_000);
  const ids = (await loadTokenizer(dir)).encode(text);
  const requests = [];
  for (let s = 0; s + 128 <= ids.length && requests.length < windows; s += 128) requests.push({ tokens: ids.slice(s, s + 128), scoreFrom: 1 });
  const lm = await CausalLM.load(dir);
  try {
    const results = await lm.loglikelihood(requests);
    return Math.exp(-results.reduce((a, r) => a + r.logprob, 0) / (requests.length * 127));
  } finally {
    await lm.close();
  }
}

let scratch: string;
let model: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-quality-'));
  model = await trainedFixture();
});
after(() => rm(scratch, { recursive: true, force: true }));

async function pruned(method: string, ratio: string, recover = 'none'): Promise<string> {
  const out = join(scratch, `${method}-${ratio}-${recover}`);
  const r = await runCli(['prune', '--model', model, '--out', out, '--ratio', ratio, '--method', method, '--recover', recover, '--calib', ALPACA, '--calib-samples', '32', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

test('reversed AMP degrades perplexity far more than AMP (trained tiny LLaMA, 20% removed)', async (t) => {
  const dense = await perplexity(model);
  const amp = await perplexity(await pruned('amp', '0.2'));
  const reversed = await perplexity(await pruned('reversed', '0.2'));
  const random = await perplexity(await pruned('random', '0.2'));
  t.diagnostic(`WikiText-2 token perplexity: dense ${dense.toFixed(2)}, amp ${amp.toFixed(2)}, random ${random.toFixed(2)}, reversed ${reversed.toFixed(2)}`);
  assert.ok(dense < 200, `the trained fixture should have learned something (ppl ${dense})`);
  assert.ok(amp >= dense * 0.98, 'pruning should not help');
  assert.ok(reversed > 1.3 * amp, `reversed ${reversed} should be far worse than amp ${amp}`);
  assert.ok(amp < random, `amp ${amp} should beat random ${random}`);
});

test('training-free recovery at 30% (trained tiny LLaMA): ppl(lsq) < ppl(bias) < ppl(none)', async (t) => {
  const dense = await perplexity(model);
  const none = await perplexity(await pruned('amp', '0.3', 'none'));
  const bias = await perplexity(await pruned('amp', '0.3', 'bias'));
  const lsq = await perplexity(await pruned('amp', '0.3', 'lsq'));
  t.diagnostic(`WikiText-2 token perplexity at 30%: dense ${dense.toFixed(2)}, none ${none.toFixed(2)}, bias ${bias.toFixed(2)}, lsq ${lsq.toFixed(2)}`);
  assert.ok(bias < none, `bias ${bias} should beat none ${none}`);
  assert.ok(lsq < bias, `lsq ${lsq} should beat bias ${bias}`);
});
