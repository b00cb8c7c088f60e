/**
 * GGUF export -> `convert` round trip of LLaMA-architecture files that carry projection biases:
 *  - the tiny SmolLM-style fixture pruned by 30% with `--recover lsq` and with `--method flap`:
 *    nonzero o_proj/down_proj biases in the file, the all-zero q/k/v and gate/up ones left out;
 *  - the LLaMA-2 fixture with random biases on every projection and head size 24 ≠ 64 / 4 heads
 *    (q/k biases interleaved like their rows in the file);
 *  - the qwen2 fixture pruned by 30% (fewer heads), which export writes as llama.cpp's llama
 *    graph with its q/k/v biases and no o_proj bias.
 * The converted folder must give bit-equal logits on our engine to the folder the file was
 * exported from (F32 throughout), state attention_bias / mlp_bias for what the file holds, and load
 * in stock transformers (LlamaForCausalLM, which needs every bias of a flagged group) with logits
 * equal to transformers' on the source folder within 1e-5.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { exportHfToGguf } from '../../src/export/gguf/hf-to-gguf.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { ReferenceBatch, fixtureDir } from '../helpers/python.js';
import { tempDir } from './helpers.js';

const PROMPT = 'The quick brown fox jumps over the lazy dog. It was a bright cold day in April';
const TRANSFORMERS_TOLERANCE = 1e-5;

const dir = await tempDir();

async function pruned(name: string, fixture: string, args: string[]): Promise<string> {
  const out = path.join(dir, name);
  const run = await runCli(['--threads', '2', 'prune', '--model', await fixtureDir(fixture), '--out', out, '--ratio', '0.3', ...args]);
  assert.equal(run.code, 0, run.stderr);
  return out;
}

interface Case {
  name: string;
  dir: string;
  /** config.json flags the converted folder must state. */
  flags: { attention_bias: boolean; mlp_bias: boolean };
}

const cases: Case[] = [
  { name: 'lsq', dir: await pruned('lsq', 'smollm', ['--recover', 'lsq']), flags: { attention_bias: true, mlp_bias: true } },
  { name: 'flap', dir: await pruned('flap', 'smollm', ['--method', 'flap']), flags: { attention_bias: true, mlp_bias: true } },
  { name: 'llama-bias-headdim', dir: await fixtureDir('llama-bias-headdim'), flags: { attention_bias: true, mlp_bias: true } },
  { name: 'qwen2-pruned', dir: await pruned('qwen2-pruned', 'qwen2', ['--recover', 'none']), flags: { attention_bias: true, mlp_bias: false } },
];

async function ourLogits(modelDir: string, ids: number[]): Promise<Float32Array> {
  const lm = await CausalLM.load(modelDir, { device: 'cpu', threads: 2 });
  try {
    return (await lm.logits(padBatch([ids]))).data;
  } finally {
    await lm.close();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

const converted = new Map<string, string>();
for (const c of cases) {
  const file = path.join(dir, `${c.name}.gguf`);
  const summary = await exportHfToGguf(c.dir, file, { dtype: 'f32' });
  assert.equal(summary.architecture, 'llama', `${c.name} is written as llama.cpp's llama graph`);
  const back = path.join(dir, `${c.name}-hf`);
  const run = await runCli(['convert', file, '--out', back]);
  assert.equal(run.code, 0, run.stderr);
  converted.set(c.name, back);
}

const batch = new ReferenceBatch();
const reference = new Map<string, { source: Promise<Float32Array>; converted: Promise<Float32Array> }>();
const ids = new Map<string, number[]>();
for (const c of cases) {
  const prompt = (await loadTokenizer(c.dir)).encode(PROMPT);
  ids.set(c.name, prompt);
  const back = converted.get(c.name) ?? assert.fail('not converted');
  reference.set(c.name, {
    source: batch.logits(c.dir, [prompt]).then((r) => r.data),
    converted: batch.logits(back, [prompt]).then((r) => r.data),
  });
}
await batch.run();

for (const c of cases) {
  test(`${c.name}: export then convert gives a LlamaForCausalLM folder with bit-equal logits on our engine`, async () => {
    const back = converted.get(c.name) ?? assert.fail('not converted');
    const config = JSON.parse(await readFile(path.join(back, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.model_type, 'llama');
    assert.deepEqual({ attention_bias: config.attention_bias, mlp_bias: config.mlp_bias }, c.flags);
    const prompt = ids.get(c.name) ?? assert.fail('no prompt');
    const [source, roundTrip] = [await ourLogits(c.dir, prompt), await ourLogits(back, prompt)];
    assert.equal(maxAbsDiff(roundTrip, source), 0, 'F32 weights and biases (q/k un-interleaved, zeros where left out) come back bit for bit');
  });

  test(`${c.name}: stock transformers loads the converted folder with the source folder's logits`, async (t) => {
    const logits = reference.get(c.name) ?? assert.fail('no reference');
    const diff = maxAbsDiff(await logits.converted, await logits.source);
    t.diagnostic(`max |transformers(converted) - transformers(source)| = ${diff.toExponential(2)}`);
    assert.ok(diff <= TRANSFORMERS_TOLERANCE, `${diff} > ${TRANSFORMERS_TOLERANCE}`);
  });
}
