/**
 * `amp-prune finetune` end to end, with PyTorch + peft as the referee: the merged checkpoint loads
 * in stock transformers and equals peft's merge_and_unload of the adapter folder we also write
 * (which PeftModel.from_pretrained loads); the input dtype is kept; the same seed gives identical
 * bytes; fine-tuning lowers the held-out loss (measured by transformers); bad input fails in one
 * line with nothing written.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { alpacaTrainingPrompt } from '../../src/finetune/data.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { finetuneRecordIn } from '../helpers/amp-prune-record.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, runPython } from '../helpers/python.js';
import { LORA_REFERENCE, writeBatchJson } from './helpers.js';

const ALPACA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');

let scratch: string;
let train: string;
let heldOut: { instruction: string; input: string; output: string }[];
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-ft-cli-'));
  const records = JSON.parse(await readFile(ALPACA, 'utf8')) as { instruction: string; input: string; output: string }[];
  train = join(scratch, 'train.json');
  await writeFile(train, JSON.stringify(records.slice(0, 60)));
  heldOut = records.slice(4000, 4012);
});
after(() => rm(scratch, { recursive: true, force: true }));

const py = async (args: string[]) => JSON.parse((await runPython([LORA_REFERENCE, ...args])).trim().split('\n').pop()!);

const BASE = ['--threads', '1', 'finetune', '--data'];

/** The merged checkpoint against peft's merge_and_unload of the saved adapter on `base` (float32). */
async function assertMergedAsPeft(t: TestContext, base: string, adapter: string, out: string): Promise<void> {
  const check = await py(['merge-check', '--base', base, '--adapter', adapter, '--merged', out, '--ids', JSON.stringify([[1, 50, 60, 70, 80, 90, 100, 110]])]);
  t.diagnostic(JSON.stringify(check));
  assert.ok(check.lora_b_norm > 1e-3, 'training moved the adapters off their zero initialisation');
  assert.equal(check.dtype, 'float32');
  assert.ok(check.max_weight_diff <= 1e-6, `weights differ from merge_and_unload by ${check.max_weight_diff}`);
  assert.ok(check.max_logit_diff <= 1e-4, `logits differ by ${check.max_logit_diff}`);
}

test('merged checkpoint equals peft merge_and_unload of the saved adapter, and loads in stock transformers (float32)', async (t) => {
  const dir = await fixtureDir('llama-mha');
  const out = join(scratch, 'merged-f32');
  const adapter = join(scratch, 'adapter-f32');
  const r = await runCli([...BASE, train, '--model', dir, '--out', out, '--save-adapter', adapter, '--steps', '4', '--batch-tokens', '256', '--seq-len', '128', '--lr', '1e-2', '--warmup', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.steps, 4);
  // per-step timings are for scripts and bench/finetune: one per step, tokens adding up to the run's
  assert.equal(summary.stepSeconds.length, 4);
  assert.ok(summary.stepSeconds.every((x: number) => x > 0), 'every step took time');
  assert.equal(summary.stepTokens.reduce((a: number, b: number) => a + b, 0), summary.tokens);
  await assertMergedAsPeft(t, dir, adapter, out);
  const record = await finetuneRecordIn(out);
  assert.equal(record.steps, 4);
  assert.equal(record.lossCurve.length, 4);
  assert.match(record.data.sha256, /^[0-9a-f]{64}$/);
  assert.equal(record.tokens, summary.tokens);
});

test('Phi-3, pruned to fewer heads and KV heads: the merged checkpoint equals peft merge_and_unload of the adapter on qkv_proj, o_proj, gate_up_proj, down_proj', async (t) => {
  const dense = await fixtureDir('phi3-gqa-partial');
  const pruned = join(scratch, 'phi3-pruned');
  const p = await runCli(['--threads', '1', 'prune', '--model', dense, '--out', pruned, '--ratio', '0.3', '--seed', '2']);
  assert.equal(p.code, 0, p.stderr);
  const prunedConfig = JSON.parse(await readFile(join(pruned, 'config.json'), 'utf8'));
  const denseConfig = JSON.parse(await readFile(join(dense, 'config.json'), 'utf8'));
  t.diagnostic(`heads ${denseConfig.num_attention_heads} -> ${prunedConfig.num_attention_heads}, KV heads ${denseConfig.num_key_value_heads} -> ${prunedConfig.num_key_value_heads}, intermediate ${denseConfig.intermediate_size} -> ${prunedConfig.intermediate_size}`);
  assert.ok(prunedConfig.num_key_value_heads < denseConfig.num_key_value_heads, 'the fused qkv_proj lost a KV group');
  const out = join(scratch, 'phi3-merged');
  const adapter = join(scratch, 'phi3-adapter');
  const r = await runCli([...BASE, train, '--model', pruned, '--teacher', dense, '--out', out, '--save-adapter', adapter, '--steps', '3', '--batch-tokens', '256', '--seq-len', '128', '--lr', '1e-2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const adapterConfig = JSON.parse(await readFile(join(adapter, 'adapter_config.json'), 'utf8'));
  assert.deepEqual([...adapterConfig.target_modules].sort(), ['down_proj', 'gate_up_proj', 'o_proj', 'qkv_proj']);
  await assertMergedAsPeft(t, pruned, adapter, out);
});

test('a bf16 model stays bf16; the adapter distilled from a teacher loads in peft', async (t) => {
  const dir = await fixtureDir('llama-bf16');
  const out = join(scratch, 'merged-bf16');
  const adapter = join(scratch, 'adapter-bf16');
  const r = await runCli([...BASE, train, '--model', dir, '--teacher', await fixtureDir('llama-mha'), '--temperature', '2', '--out', out, '--save-adapter', adapter, '--steps', '2', '--batch-tokens', '200', '--seq-len', '128', '--lr', '1e-2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const check = await py(['merge-check', '--base', dir, '--adapter', adapter, '--merged', out, '--ids', JSON.stringify([[1, 50, 60, 70, 80]])]);
  t.diagnostic(JSON.stringify(check));
  assert.equal(check.dtype, 'bfloat16');
  assert.ok(check.lora_b_norm > 1e-3);
  // the merge is rounded once to bf16: within one bf16 step of weights below 1
  assert.ok(check.max_weight_diff <= 2 ** -8, `weights differ by ${check.max_weight_diff}`);
  const record = await finetuneRecordIn(out);
  assert.equal(record.loss, 'kd');
  assert.equal(record.teacher?.temperature, 2);
});

test('same seed and data: byte-identical output', async () => {
  const dir = await fixtureDir('llama3-gqa-tied');
  const outs = [join(scratch, 'det-a'), join(scratch, 'det-b')];
  for (const out of outs) {
    const r = await runCli([...BASE, train, '--model', dir, '--out', out, '--steps', '2', '--batch-tokens', '200', '--seq-len', '96', '--seed', '5']);
    assert.equal(r.code, 0, r.stderr);
  }
  for (const f of ['model.safetensors', 'amp_prune.json', 'config.json']) {
    assert.deepEqual(await readFile(join(outs[0], f)), await readFile(join(outs[1], f)), f);
  }
});

test('fine-tuning lowers the held-out loss, as transformers measures it', async (t) => {
  const dir = await fixtureDir('llama-mha');
  const out = join(scratch, 'trained');
  const r = await runCli([...BASE, train, '--model', dir, '--out', out, '--steps', '25', '--batch-tokens', '384', '--seq-len', '128', '--lr', '2e-2', '--warmup', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const tokenizer = await loadTokenizer(dir);
  const rows = heldOut.map((rec) => {
    const prompt = alpacaTrainingPrompt(rec);
    const ids = tokenizer.encode(prompt + rec.output).slice(0, 96);
    return { ids, promptLen: tokenizer.encode(prompt).length };
  });
  const tokens = padBatch(rows.map((x) => x.ids), 0);
  const labelled = new Uint8Array(tokens.ids.length);
  rows.forEach((x, b) => labelled.fill(1, b * tokens.seqLen + Math.min(x.promptLen, x.ids.length - 1), b * tokens.seqLen + x.ids.length));
  const batch = join(scratch, 'heldout.json');
  await writeBatchJson(batch, tokens, labelled);
  const before = (await py(['loss', '--model', dir, '--batch', batch])).loss;
  const afterLoss = (await py(['loss', '--model', out, '--batch', batch])).loss;
  t.diagnostic(`held-out response loss ${before.toFixed(4)} -> ${afterLoss.toFixed(4)}`);
  assert.ok(afterLoss < before - 0.1, `held-out loss ${before} -> ${afterLoss}`);
});

test('bad input: one line, non-zero exit, nothing written', async () => {
  const out = join(scratch, 'never');
  const cases: [string[], RegExp][] = [
    [['--model', await fixtureDir('llama-mha'), '--data', join(scratch, 'missing.json')], /missing\.json: no such file/],
    // Phi-3 fuses q, k, v (and gate, up) into one tensor, adapted whole: naming some of them is refused
    [['--model', await fixtureDir('phi3'), '--data', train, '--targets', 'q,v'], /--targets: Phi3ForCausalLM fuses q,k,v into one tensor, qkv_proj, which LoRA adapts whole .*name all of q,k,v or none/],
    [['--model', await fixtureDir('phi3'), '--data', train, '--targets', 'q,k,v,up'], /fuses gate,up into one tensor, gate_up_proj/],
    [['--model', await fixtureDir('llama-mha'), '--data', train, '--teacher', await fixtureDir('phi')], /--teacher .*vocabulary/],
    [['--model', await fixtureDir('llama-mha'), '--data', train, '--targets', 'q,zz'], /--targets: unknown projection 'zz'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(['--threads', '1', 'finetune', '--out', out, '--steps', '1', ...args]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(out));
  }
});

test('--lora-dropout: same seed, same bytes; 0 is the no-dropout run; recorded in amp_prune.json and adapter_config.json', async () => {
  const dir = await fixtureDir('llama3-gqa-tied');
  const common = [...BASE, train, '--model', dir, '--steps', '2', '--batch-tokens', '200', '--seq-len', '96', '--seed', '5', '--lr', '1e-2'];
  const run = async (name: string, extra: string[]) => {
    const out = join(scratch, name);
    const r = await runCli([...common, '--out', out, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return { out, weights: await readFile(join(out, 'model.safetensors')) };
  };
  const plain = await run('drop-none', []);
  const zero = await run('drop-zero', ['--lora-dropout', '0']);
  const a = await run('drop-a', ['--lora-dropout', '0.2', '--save-adapter', join(scratch, 'drop-a-adapter')]);
  const b = await run('drop-b', ['--lora-dropout', '0.2']);
  assert.deepEqual(zero.weights, plain.weights, 'p = 0 trains exactly as without dropout');
  assert.deepEqual(a.weights, b.weights, 'same seed, same dropout masks');
  assert.notDeepEqual(a.weights, plain.weights, 'dropout changes training');
  const record = JSON.parse(await readFile(join(a.out, 'amp_prune.json'), 'utf8'));
  assert.equal(record.finetune.lora.dropout, 0.2);
  const adapterConfig = JSON.parse(await readFile(join(scratch, 'drop-a-adapter', 'adapter_config.json'), 'utf8'));
  assert.equal(adapterConfig.lora_dropout, 0.2);
  // peft loads the adapter with its dropout, and its merge (which ignores dropout) is our output
  const check = await py(['merge-check', '--base', dir, '--adapter', join(scratch, 'drop-a-adapter'), '--merged', a.out, '--ids', JSON.stringify([[1, 50, 60, 70, 80]])]);
  assert.ok(check.lora_b_norm > 1e-3);
  assert.ok(check.max_weight_diff <= 1e-6, `weights differ from merge_and_unload by ${check.max_weight_diff}`);
  const refused = await runCli([...common, '--out', join(scratch, 'never-drop'), '--lora-dropout', '1']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /--lora-dropout.*probability in \[0, 1\)/);
});
