/**
 * GGUF export of Qwen2 folders (architecture "qwen2": q/k/v biases, NEOX rotary so no q/k row
 * interleave, pre-tokenizer "qwen2") in stock llama.cpp (node-llama-cpp 3.21.1) against our engine
 * on the folder, and read back by gguf-py: the tiny qwen2 fixture dense, and pruned uniformly by 30%
 * (fewer heads: written as llama.cpp's llama graph, which the qwen2 one cannot size), and pruned to
 * per-layer widths (heads 4/2, KV heads 2/1, MLP 120/64: written as llama.cpp's deci graph).
 * Bounds as gguf-llama-cpp.test.ts: log-probabilities within 1e-4 at F32 with equal greedy tokens,
 * 0.02 at F16, 0.25 at Q8_0. The fixture's q/k/v biases are random, so leaving them out or
 * interleaving q/k rows (llama's layout) moves llama.cpp's log-probabilities far past those bounds.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { exportHfToGguf } from '../../src/export/gguf/hf-to-gguf.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, runPython } from '../helpers/python.js';
import { tempDir } from './helpers.js';
import { AGREEMENT, assertAgreement, type ComparedDtype, disposeLlama, runOurs, STEPS } from './llama-cpp.js';

const PROMPT = 'The quick brown fox jumps over the lazy dog. It was';
const CHECK = path.join(import.meta.dirname, '..', 'fixtures', 'check_gguf.py');

interface CheckResult {
  fields: Record<string, unknown>;
  tensors: { name: string; hf_name: string; type: string; bytes_equal: boolean }[];
  left_out: { hf_name: string; all_zero: boolean }[];
  tokens_match: boolean;
  merges_match: boolean | null;
}

after(disposeLlama);
const dir = await tempDir();
const qwen2 = await fixtureDir('qwen2');
const prunedDir = path.join(dir, 'qwen2-pruned');
const prune = await runCli(['--threads', '2', 'prune', '--model', qwen2, '--out', prunedDir, '--ratio', '0.3', '--recover', 'none']);
assert.equal(prune.code, 0, prune.stderr);
const perLayerDir = path.join(dir, 'qwen2-per-layer');
const allocation = path.join(dir, 'layers.json');
await writeFile(allocation, JSON.stringify({ layers: [{ heads: 4, intermediate: 120 }, { heads: 2, intermediate: 64 }] }));
const perLayerPrune = await runCli(['--threads', '2', 'prune', '--model', qwen2, '--out', perLayerDir, '--ratio', '0.3', '--allocation', allocation]);
assert.equal(perLayerPrune.code, 0, perLayerPrune.stderr);

// llama.cpp's qwen2 graph sizes attn_q by embedding_length, so with heads pruned the file is
// written as its llama graph (q/k interleaved, q/k/v biases optional there); with per-layer
// widths, as its deci graph (the same, with head counts and FFN widths listed per layer).
const models: { name: string; dir: string; arch: string; dtypes: ComparedDtype[] }[] = [
  { name: 'qwen2', dir: qwen2, arch: 'qwen2', dtypes: ['f32', 'f16', 'q8_0'] },
  { name: 'qwen2-pruned', dir: prunedDir, arch: 'llama', dtypes: ['f32', 'q8_0'] },
  { name: 'qwen2-per-layer', dir: perLayerDir, arch: 'deci', dtypes: ['f32', 'q8_0'] },
];

test('round trip: `convert` reads the F32 qwen2 export back into a folder with the same logits', async () => {
  const file = path.join(dir, 'roundtrip.gguf');
  await exportHfToGguf(qwen2, file, { dtype: 'f32' });
  const back = path.join(dir, 'roundtrip-hf');
  const run = await runCli(['convert', file, '--out', back]);
  assert.equal(run.code, 0, run.stderr);
  const prompt = (await loadTokenizer(qwen2)).encode(PROMPT);
  const [before, converted] = [await runOurs(qwen2, prompt, STEPS), await runOurs(back, prompt, STEPS)];
  assert.deepEqual(converted.greedy, before.greedy);
  assert.deepEqual(converted.logProbOfGreedy, before.logProbOfGreedy, 'F32 weights and q/k/v biases come back bit for bit');
});

for (const model of models) {
  const prompt = (await loadTokenizer(model.dir)).encode(PROMPT);
  for (const dtype of model.dtypes) {
    test(`${model.name} at ${dtype}: llama.cpp's ${model.arch} graph runs the export as our engine runs the folder; gguf-py reads it back`, async (t) => {
      const file = path.join(dir, `${model.name}-${dtype}.gguf`);
      const summary = await exportHfToGguf(model.dir, file, { dtype });
      assert.equal(summary.architecture, model.arch);

      const check = JSON.parse(await runPython([CHECK, file, model.dir])) as CheckResult;
      assert.equal(check.fields['general.architecture'], model.arch);
      assert.equal(check.fields['tokenizer.ggml.pre'], 'qwen2');
      assert.ok(check.tokens_match && check.merges_match, 'vocabulary and merges equal tokenizer.json');
      for (const x of check.tensors) assert.ok(x.bytes_equal, `${x.name} equals gguf-py's encoding of ${x.hf_name} (q/k interleaved for llama only)`);
      for (const kind of ['attn_q', 'attn_k', 'attn_v']) {
        assert.equal(check.tensors.filter((x) => x.name.endsWith(`${kind}.bias`)).length, summary.layers, `${kind}.bias in every layer`);
      }
      assert.deepEqual(check.left_out.filter((x) => x.hf_name !== 'lm_head.weight'), [], 'nothing but a tied lm_head left out');

      const ours = await runOurs(model.dir, prompt, STEPS);
      t.diagnostic(await assertAgreement(file, prompt, ours, AGREEMENT[dtype]));
    });
  }
}

