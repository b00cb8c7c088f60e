/**
 * `amp-prune run`: greedy generation equals Python transformers' generate() token for token (it
 * stops at EOS as transformers does), the streamed text is transformers' decode of those tokens,
 * --chat renders the chat template as apply_chat_template does, seeded sampling repeats, a GGUF
 * file runs as the folder it was exported from, and bad flags fail in one line.
 */
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { exportHfToGguf } from '../../src/export/gguf/hf-to-gguf.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { ReferenceBatch, fixtureDir } from '../helpers/python.js';
import { tempDir } from '../export/helpers.js';
import { type RunJson, runJson } from './run-json.js';

const PROMPT = 'The quick brown fox jumps over the lazy dog. It was';
const STEPS = 24;
const dir = await tempDir();

// A LLaMA-2-style template of our own, using a special-token variable as real templates do.
const TEMPLATE = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]{% endif %}{% endfor %}";
const chatModel = path.join(dir, 'llama-chat');
await cp(await fixtureDir('llama-mha'), chatModel, { recursive: true });
const tokenizerConfig = path.join(chatModel, 'tokenizer_config.json');
await writeFile(tokenizerConfig, JSON.stringify({ ...JSON.parse(await readFile(tokenizerConfig, 'utf8')), chat_template: TEMPLATE }));

const models = { smollm: await fixtureDir('smollm'), 'llama-mha': await fixtureDir('llama-mha') };
const python = new ReferenceBatch();
const expected = new Map<string, Promise<number[]>>();
for (const [name, model] of Object.entries(models)) expected.set(name, python.generate(model, (await loadTokenizer(model)).encode(PROMPT), STEPS));
const chatIds = python.chatIds(chatModel, PROMPT);
await python.run();

for (const [name, model] of Object.entries(models)) {
  test(`${name}: greedy run equals transformers' generate(), and streams its decoded text`, async (t) => {
    const reference = await expected.get(name)!;
    const json = await runJson([model, '--prompt', PROMPT, '--max-new-tokens', String(STEPS)]);
    assert.deepEqual(json.ids, reference);
    const streamed = await runCli(['--threads', '2', 'run', model, '--prompt', PROMPT, '--max-new-tokens', String(STEPS)]);
    assert.equal(streamed.code, 0, streamed.stderr);
    const eos = (await loadTokenizer(model)).eosId;
    const shown = reference.filter((t) => t !== eos);
    const batch = new ReferenceBatch();
    const texts = batch.decode(model, [shown]);
    await batch.run();
    const referenceText = (await texts)[0];
    // Invalid UTF-8 from byte-fallback tokens: transformers writes one U+FFFD per byte token,
    // @huggingface/tokenizers one per invalid sequence; the stream must then equal our own decode.
    const ours = (await loadTokenizer(model)).decode(shown, { skipSpecialTokens: true });
    if (referenceText.includes('\uFFFD')) t.diagnostic(`invalid UTF-8 in the output: transformers ${JSON.stringify(referenceText)}, ours ${JSON.stringify(ours)}`);
    assert.equal(streamed.stdout, `${referenceText.includes('\uFFFD') ? ours : referenceText}\n`);
    assert.match(streamed.stderr, /\[\d+ tokens \((eos|max-new-tokens)\)/);
  });
}

test('--chat renders the chat template as transformers\' apply_chat_template does', async () => {
  const json = await runJson([chatModel, '--prompt', PROMPT, '--chat', '--max-new-tokens', '4']);
  assert.deepEqual(json.promptIds, await chatIds);
  const missing = await runCli(['run', models.smollm, '--prompt', 'x', '--chat']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr.trim(), /^amp-prune: error: .*smollm\/tokenizer_config\.json: has no chat_template/);
});

test('seeded sampling repeats exactly; other seeds give other text', async () => {
  const args = [models.smollm, '--prompt', PROMPT, '--max-new-tokens', '16', '--temperature', '1', '--top-p', '0.9'];
  const first = await runJson([...args, '--seed', '7']);
  assert.deepEqual((await runJson([...args, '--seed', '7'])).ids, first.ids);
  const others = await Promise.all([8, 9].map((seed) => runJson([...args, '--seed', String(seed)])));
  assert.ok(others.some((o) => o.ids.join() !== first.ids.join()), 'seeds 7, 8, 9 all gave the same tokens');
  const greedy = await runJson([models.smollm, '--prompt', PROMPT, '--max-new-tokens', '16']);
  assert.notDeepEqual(first.ids, greedy.ids);
});

test('a GGUF file runs as the folder it was exported from', async () => {
  const gguf = path.join(dir, 'smollm.gguf');
  await exportHfToGguf(models.smollm, gguf, { dtype: 'f32' });
  const env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  const r = await runCli(['--threads', '2', 'run', gguf, '--prompt', PROMPT, '--max-new-tokens', String(STEPS), '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as RunJson).ids, await expected.get('smollm')!);
});

test('bad flags: one line, exit 2 (a usage error), no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['--top-p', '0'], /--top-p must be in \(0, 1\], got 0/],
    [['--temperature', '-1'], /--temperature must be >= 0/],
    [['--max-new-tokens', '0'], /--max-new-tokens <n>' argument '0' is invalid/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(['run', models.smollm, '--prompt', PROMPT, ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  const missing = await runCli(['run', path.join(dir, 'nothing-here'), '--prompt', PROMPT]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nothing-here/);
});
