/**
 * AMP's head and neuron scores from our streaming scoring pass (padded batches through the
 * per-layer ONNX graph) equal an independent computation with PyTorch forward hooks on the
 * transformers model, one prompt per pass (tests/fixtures/amp_reference.py).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../src/engine/checkpoint.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { scorePass } from '../../src/prune/score-pass.js';
import { amp } from '../../src/score/amp.js';
import { fixtureDir, REPO_ROOT, runPython } from '../helpers/python.js';

const PROMPTS = [
  'Instruction: Give three tips for staying healthy.\nResponse:',
  'Instruction: Translate the sentence into French.\nInput: The cat sleeps on the warm windowsill.\nResponse:',
  'The tower is 324 metres tall, about the same height as an 81-storey building.',
  'Short one.',
  'Robert Boulter is an English film, television and theatre actor. He had a guest-starring role in 2000.',
];

function relativeError(ours: ArrayLike<number>, ref: number[]): number {
  let worst = 0;
  const scale = Math.max(...ref.map(Math.abs));
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]) / Math.max(Math.abs(ref[i]), 1e-3 * scale));
  return worst;
}

for (const name of ['llama-mha', 'llama3-gqa-tied', 'qwen3', 'phi', 'phi3-gqa-partial']) {
  test(`AMP scores equal PyTorch hooks: ${name}`, async (t) => {
    const dir = await fixtureDir(name);
    const tokenizer = await loadTokenizer(dir);
    const sequences = PROMPTS.map((p) => tokenizer.encode(p));
    const scratch = await mkdtemp(join(tmpdir(), 'amp-ref-'));
    try {
      await writeFile(join(scratch, 'seqs.json'), JSON.stringify(sequences));
      await runPython([join(REPO_ROOT, 'tests/fixtures/amp_reference.py'), '--model', dir, '--sequences', join(scratch, 'seqs.json'), '--out', join(scratch, 'ref.json')]);
      const ref = JSON.parse(await readFile(join(scratch, 'ref.json'), 'utf8')) as { heads: number[][]; neurons: number[][] };
      const ckpt = await openCheckpoint(dir);
      // a small token budget forces several padded batches
      const { scores } = await scorePass(ckpt, { method: amp, sequences, seed: 0, maxBatchTokens: 48, session: { threads: 1 } });
      await ckpt.store.close();
      assert.equal(scores.length, ref.heads.length);
      let worst = 0;
      scores.forEach((s, i) => {
        assert.equal(s.heads.length, ref.heads[i].length);
        assert.equal(s.neurons.length, ref.neurons[i].length);
        worst = Math.max(worst, relativeError(s.heads, ref.heads[i]), relativeError(s.neurons, ref.neurons[i]));
      });
      t.diagnostic(`worst relative error ${worst.toExponential(2)}`);
      assert.ok(worst <= 1e-5, `relative error ${worst}`);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
}
