/**
 * `amp-prune bench` through the real CLI on tiny fixtures: a well-formed record (every figure
 * positive and finite, medians within their spread), ratios against a pruned model's baseline, a
 * GGUF input, trimmed default prompt lengths, and bad input failing in one line. Speeds are never
 * asserted: only the record's shape and its internal consistency.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ModelMeasurement, SpeedRecord, Stat } from '../../src/bench/record.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';
import { fixturePath, ggufFixtures } from '../gguf/helpers.js';

const ALPACA = join(REPO_ROOT, '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');
// one thread: other work may share the machine, and figures are not asserted anyway
const SMALL = ['--prompt-lengths', '8,16', '--decode-tokens', '4', '--repeats', '2', '--threads', '1'];

let scratch: string;
let llama: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-bench-'));
  llama = await fixtureDir('llama-mha');
});
after(() => rm(scratch, { recursive: true, force: true }));

async function bench(args: string[], env?: Record<string, string>): Promise<{ record: SpeedRecord; stdout: string }> {
  const json = join(scratch, `record-${Math.random().toString(36).slice(2)}.json`);
  const { code, stdout, stderr } = await runCli(['bench', ...args, '--json', json], { env });
  assert.equal(code, 0, `exit code (stderr: ${stderr})`);
  return { record: JSON.parse(await readFile(json, 'utf8')) as SpeedRecord, stdout };
}

function assertStat(s: Stat, runs: number, what: string): void {
  assert.equal(s.runs.length, runs, `${what}: one value per repeat`);
  for (const x of [s.median, s.min, s.max, ...s.runs]) assert.ok(Number.isFinite(x) && x > 0, `${what}: ${x} positive and finite`);
  assert.equal(s.min, Math.min(...s.runs), `${what}: min`);
  assert.equal(s.max, Math.max(...s.runs), `${what}: max`);
  assert.ok(s.min <= s.median && s.median <= s.max, `${what}: median within min..max`);
}

function assertMeasurement(m: ModelMeasurement, lengths: number[], repeats: number, decodeTokens: number): void {
  assert.deepEqual(m.prefill.map((p) => p.tokens), lengths);
  for (const p of m.prefill) assertStat(p.tokens_per_s, repeats, `prefill ${p.tokens}`);
  assert.equal(m.decode.tokens, decodeTokens);
  assert.equal(m.decode.prompt_tokens, 32);
  assertStat(m.decode.tokens_per_s, repeats, 'decode');
  assertStat(m.ttft_ms, repeats, 'ttft');
  assert.ok(Number.isFinite(m.peak_rss_mb) && m.peak_rss_mb > 1, `peak RSS ${m.peak_rss_mb} MB`);
  assert.ok(m.model.parameters > m.model.matmul_parameters && m.model.matmul_parameters > 0);
  assert.equal(m.model.flops_per_token, 2 * m.model.matmul_parameters);
  assert.ok(m.model.attention_flops_per_context_token > 0);
}

test('one model: table on stdout and a well-formed record', async () => {
  const { record, stdout } = await bench(['--model', llama, ...SMALL]);
  assert.deepEqual(record.tool, { name: 'amp-prune', version: '0.1.0' });
  assert.equal(record.model.path, llama.replace(/\/$/, ''));
  assert.equal(record.model.checkpoint, record.model.path);
  assert.equal(record.model.architecture, 'LlamaForCausalLM');
  assert.equal(record.model.max_position_embeddings, 128);
  assertMeasurement(record, [8, 16], 2, 4);
  const { settings } = record;
  assert.deepEqual(
    { lengths: settings.prompt_lengths, decode: settings.decode_tokens, repeats: settings.repeats, warmup: settings.warmup, threads: settings.threads, device: settings.device },
    { lengths: [8, 16], decode: 4, repeats: 2, warmup: 1, threads: 1, device: 'cpu' },
  );
  assert.match(settings.prompt_ids, /^synthetic/);
  assert.equal(settings.order, null);
  assert.equal(record.baseline, undefined);
  assert.equal(record.ratios, undefined);
  assert.ok(record.host.cores > 0);
  assert.ok(!Number.isNaN(Date.parse(record.finished_at)));
  for (const row of ['prefill 8 tokens', 'prefill 16 tokens', 'decode 4 tokens', 'time to first token', 'peak RSS', 'FLOPs per token']) assert.match(stdout, new RegExp(row));
  assert.doesNotMatch(stdout, /FLOP ratio/);
});

test('--baseline: both measured alike, ratios of the medians, FLOP ratio > 1 for a pruned model', async () => {
  const pruned = join(scratch, 'pruned');
  const prune = await runCli(['prune', '--model', llama, '--out', pruned, '--ratio', '0.3', '--calib', ALPACA, '--calib-samples', '4', '--threads', '1']);
  assert.equal(prune.code, 0, prune.stderr);

  const { record, stdout } = await bench(['--model', pruned, '--baseline', llama, ...SMALL]);
  assert.ok(record.baseline && record.ratios);
  assert.equal(record.model.path, pruned);
  assert.equal(record.baseline.model.path, llama.replace(/\/$/, ''));
  assertMeasurement(record, [8, 16], 2, 4);
  assertMeasurement(record.baseline, [8, 16], 2, 4);
  assert.match(record.settings.order ?? '', /alternating/);

  const { ratios, baseline } = record;
  const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
  assert.ok(ratios.flop_ratio > 1, `FLOP ratio ${ratios.flop_ratio}`);
  close(ratios.flop_ratio, baseline.model.flops_per_token / record.model.flops_per_token, 'flop ratio');
  assert.ok(ratios.parameters < 1);
  assert.deepEqual(Object.keys(ratios.prefill_tokens_per_s).sort(), ['16', '8']);
  for (const p of record.prefill) {
    const speedup = p.tokens_per_s.median / baseline.prefill.find((b) => b.tokens === p.tokens)!.tokens_per_s.median;
    close(ratios.prefill_tokens_per_s[String(p.tokens)], speedup, `prefill ${p.tokens}`);
    close(ratios.efficiency.prefill[String(p.tokens)], speedup / ratios.flop_ratio, `efficiency ${p.tokens}`);
  }
  close(ratios.decode_tokens_per_s, record.decode.tokens_per_s.median / baseline.decode.tokens_per_s.median, 'decode');
  close(ratios.ttft_ms, record.ttft_ms.median / baseline.ttft_ms.median, 'ttft');
  close(ratios.peak_rss_mb, record.peak_rss_mb / baseline.peak_rss_mb, 'rss');
  for (const x of [ratios.decode_tokens_per_s, ratios.ttft_ms, ratios.peak_rss_mb, ratios.efficiency.decode, ratios.efficiency.ttft]) assert.ok(Number.isFinite(x) && x > 0);
  assert.match(stdout, /model\/baseline/);
  assert.match(stdout, /FLOP ratio baseline\/model: 1\.\d{3}×/);
  assert.match(stdout, /efficiency \(speedup \/ FLOP ratio\): prefill 8 /);
});

test('a .gguf model is converted (into the user cache) and measured', async () => {
  await ggufFixtures();
  const dir = join(scratch, 'gguf');
  await mkdir(dir);
  const gguf = join(dir, 'model.gguf');
  await copyFile(fixturePath('f32', 'model.gguf'), gguf);
  const cache = join(scratch, 'xdg-cache');
  const settings = ['--prompt-lengths', '8', '--decode-tokens', '2', '--repeats', '1', '--warmup', '0', '--threads', '1'];
  const { record } = await bench(['--model', gguf, ...settings], { XDG_CACHE_HOME: cache });
  assert.equal(record.model.path, gguf);
  assert.ok(record.model.checkpoint.startsWith(join(cache, 'amp-prune', 'gguf')), record.model.checkpoint);
  assertMeasurement(record, [8], 1, 2);
});

test('default prompt lengths above max_position_embeddings are skipped, with a note', async () => {
  const { record, stdout } = await bench(['--model', llama, '--decode-tokens', '2', '--repeats', '1', '--warmup', '0', '--threads', '1']);
  assert.deepEqual(record.settings.prompt_lengths, [128]);
  assert.match(stdout, /note: default prompt lengths 512, 2048 skipped: max_position_embeddings is 128/);
});

/** Exit 1 for bad input, 2 for a bad command line (a flag's value alone is wrong). */
async function assertUserError(args: string[], expected: string, exitCode: 1 | 2 = 1): Promise<void> {
  const before = await readdir(scratch);
  const json = join(scratch, 'never-written.json');
  const { code, stdout, stderr } = await runCli(['bench', ...args, '--json', json]);
  assert.equal(code, exitCode, `exit code (stderr: ${stderr})`);
  assert.equal(stdout, '');
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.ok(lines[0].startsWith('amp-prune: error: ') && lines[0].includes(expected), `${lines[0]} should say: ${expected}`);
  assert.deepEqual(await readdir(scratch), before, 'nothing written');
}

test('bad input: one line naming the flag or file, nothing written', async () => {
  const missing = join(scratch, 'no-such-model');
  await assertUserError(['--model', missing], `${missing}: not found (--model)`);
  await assertUserError(['--model', llama, '--baseline', missing], `${missing}: not found (--baseline)`);
  for (const lengths of ['8,x', '0', '8,,16', '-8', '1.5', '']) {
    await assertUserError(['--model', llama, '--prompt-lengths', lengths], `--prompt-lengths takes positive whole numbers separated by commas, e.g. 128,512 (got '${lengths}')`, 2);
  }
  await assertUserError(['--model', llama, '--prompt-lengths', '8,129'], `--prompt-lengths 129 exceeds the max_position_embeddings of ${llama.replace(/\/$/, '')} (128)`);
  await assertUserError(['--model', llama, '--prompt-lengths', '8', '--decode-tokens', '97'], '--decode-tokens 97 after a 32-token prompt exceeds the max_position_embeddings');
  await assertUserError(['--model', llama, '--repeats', '0'], '--repeats must be >= 1 (got 0)', 2);
  await assertUserError(['--model', llama, '--warmup', 'x'], "--warmup takes a whole number (got 'x')", 2);
  await assertUserError(['--model', llama, '--decode-tokens', '0'], '--decode-tokens must be >= 1 (got 0)', 2);
  const noFolder = join(scratch, 'no-folder');
  const { code, stderr } = await runCli(['bench', '--model', llama, '--json', join(noFolder, 'r.json')]);
  assert.equal(code, 1);
  assert.equal(stderr.trim(), `amp-prune: error: ${noFolder}: folder not found (for --json)`);
});
