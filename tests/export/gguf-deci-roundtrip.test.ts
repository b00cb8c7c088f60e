/**
 * Per-layer-width pruned models exported as llama.cpp's deci architecture read back by `convert`:
 *  - the tiny SmolLM-style fixture pruned to heads 6/3 (KV 2/1), MLP 120/90, lsq biases on o/down;
 *  - the qwen2 fixture pruned to heads 4/2 (KV 2/1), MLP 120/64, with its q/k/v biases and lsq's.
 * Export at F32 then convert: config.json states the same widths (amp_prune_layer_widths, stock fields
 * at the widest layer), every tensor of the pruned folder comes back bit for bit (q/k rows
 * un-interleaved with each layer's own head counts; the only extra tensors are the all-zero biases a
 * flagged group needs), and our engine's logits are equal. `run FILE.gguf` gives the pruned folder's
 * greedy tokens.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { exportHfToGguf } from '../../src/export/gguf/hf-to-gguf.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { PROMPT, compareFolders, engineLogits, maxAbsDiff, prunedPerLayer, readConfig, widthFields } from '../gguf/deci-helpers.js';
import { tempDir } from './helpers.js';

const dir = await tempDir();
const cases = [
  { name: 'smollm', dir: await prunedPerLayer(dir, 'smollm', 'smollm', [{ heads: 6, intermediate: 120 }, { heads: 3, intermediate: 90 }]) },
  { name: 'qwen2', dir: await prunedPerLayer(dir, 'qwen2', 'qwen2', [{ heads: 4, intermediate: 120 }, { heads: 2, intermediate: 64 }]) },
];

for (const c of cases) {
  const file = path.join(dir, `${c.name}.gguf`);
  const back = path.join(dir, `${c.name}-back`);

  test(`${c.name} per layer: export as deci, convert back: same widths, bit-equal tensors and logits`, async (t) => {
    const summary = await exportHfToGguf(c.dir, file, { dtype: 'f32' });
    assert.equal(summary.architecture, 'deci');
    assert.equal(summary.uniform, false);
    const run = await runCli(['convert', file, '--out', back]);
    assert.equal(run.code, 0, run.stderr);

    const [source, converted] = [await readConfig(c.dir), await readConfig(back)];
    assert.deepEqual(widthFields(converted), widthFields(source));
    assert.ok(Array.isArray(converted.amp_prune_layer_widths), 'per-layer widths are listed');
    assert.deepEqual([converted.architectures, converted.attention_bias], [['LlamaForCausalLM'], true]);

    const tensors = await compareFolders(c.dir, back);
    assert.deepEqual(tensors.unequal, [], 'every tensor of the pruned folder comes back bit for bit');
    assert.deepEqual(tensors.extraNonZero, [], 'tensors the pruned folder lacks are zero biases');

    const ids = (await loadTokenizer(c.dir)).encode(PROMPT);
    const diff = maxAbsDiff(await engineLogits(back, ids), await engineLogits(c.dir, ids));
    t.diagnostic(`max |logits(converted) - logits(pruned)| = ${diff}`);
    assert.equal(diff, 0);
  });

  test(`${c.name} per layer: \`run FILE.gguf\` gives the pruned folder's tokens`, async () => {
    const args = ['--prompt', PROMPT, '--max-new-tokens', '8', '--json'];
    const env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
    const [fromGguf, fromFolder] = await Promise.all([runCli(['--threads', '1', 'run', file, ...args], { env }), runCli(['--threads', '1', 'run', c.dir, ...args])]);
    assert.equal(fromGguf.code, 0, fromGguf.stderr);
    assert.equal(fromFolder.code, 0, fromFolder.stderr);
    const ids = (r: { stdout: string }) => (JSON.parse(r.stdout) as { ids: number[] }).ids;
    assert.equal(ids(fromFolder).length, 8);
    assert.deepEqual(ids(fromGguf), ids(fromFolder));
  });
}
