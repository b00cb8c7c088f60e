/**
 * ONNX exports in stock transformers.js (@huggingface/transformers 4.3.1, local files only, CPU
 * onnxruntime-node), against our engine on the folder they came from and against Python
 * transformers' generate():
 *  (a) fp32, every tiny family fixture (LLaMA MHA/GQA/tied/llama3-rope/biases+head_dim, Mistral's
 *      sliding window, Qwen2 biases, Qwen3 q/k norms, Phi partial rotary + parallel residual, Phi-3):
 *      logits within 1e-4 of ours without the cache and after a cached prefill (measured ~3e-6),
 *      greedy generate() token for token equal to ours and to Python transformers';
 *  (b) an AMP-pruned model, uniform (30%), uniform with `--recover lsq` (o_proj/down_proj biases),
 *      and non-uniform (per-layer heads 6/3, KV heads 2/1, MLP 120/90): the same checks (Python
 *      not for the non-uniform one: stock transformers cannot load per-layer widths);
 *  (c) fp16 and q8 (weight-only int8) files, teacher-forced on our fp32 greedy continuation:
 *      bounded logit error and top-1 agreement (bounds below, measured values in diagnostics);
 *  (d) the q4 file (4-bit Q4_0 layer matrices, fp16 elsewhere) against our engine on the same
 *      weights made by gguf-py (gguf.quants.quantize + dequantize Q4_0; numpy float16 for the rest):
 *      within 1e-4, so transformers.js reads the 4 bits as llama.cpp's Q4_0 means them.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { greedyDecode } from '../../src/engine/decode.js';
import { exportHfToOnnx, onnxFileName } from '../../src/export/onnx/hf-to-onnx.js';
import type { OnnxDtype } from '../../src/export/onnx/weights.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { ReferenceBatch, fixtureDir, referenceGenerate, runPython } from '../helpers/python.js';
import { tempDir } from './helpers.js';
import { loadTjs } from './transformers-js.js';

const PROMPT = 'The quick brown fox jumps over the lazy dog. It was';
const STEPS = 16;
const SPLIT = 10;
const FP32_BOUND = 1e-4;

const dir = await tempDir();
const open: CausalLM[] = [];
after(() => Promise.all(open.map((lm) => lm.close())));

async function ours(model: string): Promise<CausalLM> {
  const lm = await CausalLM.load(model, { device: 'cpu', threads: 2 });
  open.push(lm);
  return lm;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'logit counts differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Up to and including the first EOS: transformers' and transformers.js's generate() stop there, our decode runs on. */
function untilEos(tokens: number[], eos: readonly number[]): number[] {
  const at = tokens.findIndex((t) => eos.includes(t));
  return at === -1 ? tokens : tokens.slice(0, at + 1);
}

function argmaxRows(logits: Float32Array, vocab: number): number[] {
  return Array.from({ length: logits.length / vocab }, (_, r) => {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[r * vocab + v] > logits[r * vocab + best]) best = v;
    return best;
  });
}

async function exported(model: string, name: string, dtype: OnnxDtype): Promise<string> {
  const out = path.join(dir, `${name}-${dtype}`);
  const summary = await exportHfToOnnx(model, out, { dtype });
  assert.equal(summary.model, `onnx/${onnxFileName(dtype)}`);
  return out;
}

async function checkFp32(t: { diagnostic(s: string): void }, model: string, name: string, python?: Promise<number[]>): Promise<void> {
  const lm = await ours(model);
  const tokenizer = await loadTokenizer(model);
  const prompt = tokenizer.encode(PROMPT);
  const eos = [tokenizer.eosId].filter((x): x is number => x !== undefined);
  const mine = (await greedyDecode(lm, prompt, STEPS)).tokens;
  const reference = (await lm.logits(padBatch([prompt]))).data;
  const tjs = await loadTjs(await exported(model, name, 'fp32'), 'fp32');
  try {
    const V = lm.spec.vocab;
    const full = maxAbsDiff(await tjs.logits(prompt), reference);
    const cached = maxAbsDiff(await tjs.logitsAfterCache(prompt, SPLIT), reference.subarray(SPLIT * V));
    const generated = await tjs.generate(prompt, STEPS);
    t.diagnostic(`${name}: max |Δ logit| ${full.toExponential(2)} (no cache), ${cached.toExponential(2)} (cached prefill of ${SPLIT}); ${generated.length} tokens generated`);
    assert.ok(full <= FP32_BOUND, `no cache: max |Δ logit| ${full}`);
    assert.ok(cached <= FP32_BOUND, `with cache: max |Δ logit| ${cached}`);
    assert.deepEqual(generated, untilEos(mine, eos), 'transformers.js generate() vs our greedy decode');
    if (python) assert.deepEqual(await python, untilEos(mine, eos), 'Python transformers generate() vs our greedy decode');
  } finally {
    await tjs.dispose();
  }
}

const FAMILIES = ['smollm', 'llama-mha', 'llama3-gqa-tied', 'llama-bias-headdim', 'mistral', 'qwen2', 'qwen3', 'phi', 'phi3', 'phi3-gqa-partial'];
// One Python process for every fixture's reference generate() (each start imports torch).
const python = new ReferenceBatch();
const pythonGenerated = new Map<string, Promise<number[]>>();
for (const name of FAMILIES) {
  const model = await fixtureDir(name);
  pythonGenerated.set(name, python.generate(model, (await loadTokenizer(model)).encode(PROMPT), STEPS));
}
await python.run();

for (const name of FAMILIES) {
  test(`(a) ${name}: transformers.js runs the fp32 export as our engine does`, async (t) => {
    await checkFp32(t, await fixtureDir(name), name, pythonGenerated.get(name));
  });
}

test('(b) a uniformly AMP-pruned model runs in transformers.js as in our engine and Python', async (t) => {
  const pruned = path.join(dir, 'pruned-uniform');
  const run = await runCli(['--threads', '2', 'prune', '--model', await fixtureDir('smollm'), '--out', pruned, '--ratio', '0.3']);
  assert.equal(run.code, 0, run.stderr);
  await checkFp32(t, pruned, 'pruned-uniform', referenceGenerate(pruned, (await loadTokenizer(pruned)).encode(PROMPT), STEPS));
});

test('(b) a model pruned with --recover lsq (o_proj/down_proj biases) runs in transformers.js as in our engine and Python', async (t) => {
  const pruned = path.join(dir, 'pruned-lsq');
  const run = await runCli(['--threads', '2', 'prune', '--model', await fixtureDir('smollm'), '--out', pruned, '--ratio', '0.3', '--recover', 'lsq']);
  assert.equal(run.code, 0, run.stderr);
  assert.ok((await ours(pruned)).spec.layerWeights(0).some((w) => w.name === 'down.bias'), 'the refit wrote a down_proj bias');
  await checkFp32(t, pruned, 'pruned-lsq', referenceGenerate(pruned, (await loadTokenizer(pruned)).encode(PROMPT), STEPS));
});

test('(b) a non-uniform pruned model (per-layer heads, KV heads and MLP widths) runs in transformers.js as in our engine', async (t) => {
  const pruned = path.join(dir, 'pruned-layers');
  const allocation = path.join(dir, 'layers.json');
  await writeFile(allocation, JSON.stringify({ layers: [{ heads: 6, intermediate: 120 }, { heads: 3, intermediate: 90 }] }));
  const run = await runCli(['--threads', '2', 'prune', '--model', await fixtureDir('smollm'), '--out', pruned, '--ratio', '0.3', '--allocation', allocation]);
  assert.equal(run.code, 0, run.stderr);
  const lm = await ours(pruned);
  assert.deepEqual(lm.spec.layers.map((l) => l.kvHeads), [2, 1]);
  await checkFp32(t, pruned, 'pruned-layers');
});

const LOW_PRECISION: Record<'fp16' | 'q8', { logit: number; minTop1: number }> = {
  fp16: { logit: 0.02, minTop1: 1 },
  q8: { logit: 0.5, minTop1: 0.85 },
};

for (const dtype of ['fp16', 'q8'] as const) {
  test(`(c) ${dtype}: transformers.js on the ${dtype} file stays close to our fp32 engine`, async (t) => {
    const model = await fixtureDir('smollm');
    const lm = await ours(model);
    const prompt = (await loadTokenizer(model)).encode(PROMPT);
    const sequence = [...prompt, ...(await greedyDecode(lm, prompt, STEPS)).tokens];
    const reference = (await lm.logits(padBatch([sequence]))).data;
    const tjs = await loadTjs(await exported(model, 'smollm', dtype), dtype);
    try {
      const logits = await tjs.logits(sequence);
      const V = lm.spec.vocab;
      const diff = maxAbsDiff(logits, reference);
      const mineTop = argmaxRows(reference, V);
      const theirTop = argmaxRows(logits, V);
      const agree = theirTop.filter((x, i) => x === mineTop[i]).length / mineTop.length;
      t.diagnostic(`${dtype}: max |Δ logit| ${diff.toExponential(2)}, top-1 agreement ${(agree * 100).toFixed(1)}% of ${mineTop.length} positions`);
      assert.ok(diff <= LOW_PRECISION[dtype].logit, `max |Δ logit| ${diff}`);
      assert.ok(agree >= LOW_PRECISION[dtype].minTop1, `top-1 agreement ${agree}`);
    } finally {
      await tjs.dispose();
    }
  });
}

/** A copy of a model folder with the weights a q4 export stores, as gguf-py computes them. */
const Q4_WEIGHTS_PY = `
import json, shutil, sys
from pathlib import Path
import numpy as np, gguf
from safetensors.numpy import load_file, save_file
src, out = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(src, out)
for f in src.glob('*.safetensors'):
    tensors = load_file(f)
    for name, w in tensors.items():
        if w.ndim != 2:
            continue
        w = w.astype(np.float32)
        cols = w.shape[1]
        if '.layers.' in name and cols % 32 == 0 and cols > 32:
            q = gguf.quants.quantize(w, gguf.GGMLQuantizationType.Q4_0)
            tensors[name] = gguf.quants.dequantize(q, gguf.GGMLQuantizationType.Q4_0).reshape(w.shape).astype(np.float32)
        else:
            tensors[name] = w.astype(np.float16).astype(np.float32)
    save_file(tensors, str(out / f.name), metadata={'format': 'pt'})
print(json.dumps({'ok': True}))
`;

test('(d) q4: transformers.js runs the 4-bit file as our engine runs the same 4-bit weights from gguf-py', async (t) => {
  const model = await fixtureDir('smollm');
  const reference4 = path.join(dir, 'smollm-q4-reference');
  await runPython(['-c', Q4_WEIGHTS_PY, model, reference4]);
  const lm = await ours(reference4);
  const prompt = (await loadTokenizer(model)).encode(PROMPT);
  const sequence = [...prompt, ...(await greedyDecode(lm, prompt, STEPS)).tokens];
  const reference = (await lm.logits(padBatch([sequence]))).data;
  const out = await exported(model, 'smollm', 'q4');
  const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
  assert.equal(config['transformers.js_config'].dtype, 'q4');
  const tjs = await loadTjs(out, 'q4');
  try {
    const full = maxAbsDiff(await tjs.logits(sequence), reference);
    const cached = maxAbsDiff(await tjs.logitsAfterCache(sequence, SPLIT), reference.subarray(SPLIT * lm.spec.vocab));
    const dense = await ours(model);
    const fromFloat = maxAbsDiff((await dense.logits(padBatch([sequence]))).data, reference);
    t.diagnostic(`q4: max |Δ logit| ${full.toExponential(2)} (no cache), ${cached.toExponential(2)} (cached); the 4-bit weights move logits by ${fromFloat.toExponential(2)} from the fp32 model's`);
    assert.ok(fromFloat > 1e-3, 'the reference is the quantized model, not the float one');
    assert.ok(full <= FP32_BOUND, `no cache: max |Δ logit| ${full}`);
    assert.ok(cached <= FP32_BOUND, `with cache: max |Δ logit| ${cached}`);
  } finally {
    await tjs.dispose();
  }
});
