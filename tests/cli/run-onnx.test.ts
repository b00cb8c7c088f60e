/**
 * `amp-prune run` on a folder written by `export --format onnx`: the exported graph runs on
 * onnxruntime with its own KV cache (past_key_values.N in, present.N out) and must give, greedy,
 * the tokens and text `run` gives on the Hugging Face folder it was exported from (our engine's
 * graph), streamed as they come; on the tiny SmolLM-style fixture dense and pruned with per-layer
 * widths (--allocation global, lsq biases), the qwen2 fixture (q/k/v biases) and the LLaMA-3 GQA
 * fixture with tied embeddings. A q8 export runs from the file its config names; a folder whose
 * graph file is missing is refused in one line.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { exportHfToOnnx } from '../../src/export/onnx/hf-to-onnx.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/python.js';
import { tempDir } from '../export/helpers.js';
import { runJson } from './run-json.js';

const PROMPT = 'The quick brown fox jumps over the lazy dog. It was';
const STEPS = 24;
const dir = await tempDir();

const runOn = (model: string) => runJson([model, '--prompt', PROMPT, '--max-new-tokens', String(STEPS)]);

const nonUniform = path.join(dir, 'smollm-global');
const prune = await runCli(['--threads', '2', 'prune', '--model', await fixtureDir('smollm'), '--out', nonUniform, '--ratio', '0.3', '--allocation', 'global']);
assert.equal(prune.code, 0, prune.stderr);

const models: Record<string, string> = {
  smollm: await fixtureDir('smollm'),
  'smollm-global': nonUniform,
  qwen2: await fixtureDir('qwen2'),
  'llama3-gqa-tied': await fixtureDir('llama3-gqa-tied'),
};

for (const [name, model] of Object.entries(models)) {
  test(`${name}: run on the ONNX export gives our engine's greedy tokens and text, streamed`, async () => {
    const onnx = path.join(dir, `${name}-onnx`);
    const summary = await exportHfToOnnx(model, onnx, { dtype: 'fp32' });
    if (name === 'smollm-global') assert.equal(summary.uniform, false, 'per-layer widths');
    const [ours, exported] = [await runOn(model), await runOn(onnx)];
    assert.deepEqual(exported.promptIds, ours.promptIds);
    assert.deepEqual(exported.ids, ours.ids);
    assert.equal(exported.text, ours.text);
    assert.equal(exported.stopped, ours.stopped);
    const streamed = await runCli(['--threads', '2', 'run', onnx, '--prompt', PROMPT, '--max-new-tokens', String(STEPS)]);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.equal(streamed.stdout, `${ours.text}\n`);
    assert.match(streamed.stderr, new RegExp(`^\\[${ours.ids.length} tokens \\(${ours.stopped}\\)`));
  });
}

test('a q8 export runs from the graph file its config names; a missing graph file is one line', async () => {
  const q8 = path.join(dir, 'smollm-q8');
  const summary = await exportHfToOnnx(models.smollm, q8, { dtype: 'q8' });
  assert.equal(summary.model, 'onnx/model_quantized.onnx');
  const run = await runOn(q8);
  assert.ok(run.ids.length === STEPS || run.stopped === 'eos', JSON.stringify(run));
  await rm(path.join(q8, summary.model));
  const broken = await runCli(['run', q8, '--prompt', PROMPT]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr.trim(), /^amp-prune: error: [^\n]*model_quantized\.onnx: is missing \(the export folder is incomplete\)$/);
});
