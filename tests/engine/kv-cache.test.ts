/**
 * Decoding on the KV cache computes what a full forward over the whole sequence computes: greedy
 * tokens generated step by step equal the argmax of the full-sequence logits (which equal
 * transformers', tests/engine/logits.test.ts), and the cached step's logits match to 1e-4.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { greedyDecode } from '../../src/engine/decode.js';
import type { AttentionPreference } from '../../src/engine/attention.js';
import { fixtureDir } from '../helpers/python.js';

const ATTENTION_PATHS: AttentionPreference[] = ['auto', 'unfused'];

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

for (const [name, attention] of ['llama3-gqa-tied', 'mistral', 'phi', 'phi3-gqa-partial'].flatMap((n) => ATTENTION_PATHS.map((a) => [n, a] as const))) {
  test(`greedy decoding on the KV cache equals full forwards: ${name}, ${attention} attention`, async () => {
    const dir = await fixtureDir(name);
    const lm = await CausalLM.load(dir, { threads: 1, attention });
    try {
      const prompt = [1, 20, 21, 22, 23];
      const { tokens } = await greedyDecode(lm, prompt, 10);
      const full = [...prompt, ...tokens];
      const logits = await lm.logits(padBatch([full.slice(0, -1)]));
      const V = lm.spec.vocab;
      for (let t = prompt.length - 1; t < full.length - 1; t++) {
        const row = logits.data.subarray(t * V, (t + 1) * V);
        let best = 0;
        for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
        assert.equal(best, full[t + 1], `step at position ${t}`);
      }
      // the last cached step's logits themselves
      const prefix = full.slice(0, -2);
      const ctx = await lm.run(padBatch([prefix]), { cache: true });
      const step = await lm.run(padBatch([[full[full.length - 2]]], 0, 'right', { length: ctx.cache!.length, mask: ctx.cache!.mask }), { past: ctx.cache, logits: true });
      const last = logits.data.subarray((full.length - 2) * V, (full.length - 1) * V);
      let diff = 0;
      for (let i = 0; i < V; i++) diff = Math.max(diff, Math.abs(step.logits!.data[i] - last[i]));
      assert.ok(diff <= 1e-4, `cached step logits differ by ${diff}`);
    } finally {
      await lm.close();
    }
  });
}

// A batch on a padded cache: rows of different lengths share one cache (the shorter one's tail is
// padding the bias must hide), then one new token per row (the fused kernel's decode case) and
// then two (several rows × several tokens on a cache, where the graph takes the unfused branch).
for (const [name, attention] of ['llama3-gqa-tied', 'mistral'].flatMap((n) => ATTENTION_PATHS.map((a) => [n, a] as const))) {
  test(`a batch continued on a right-padded cache equals each row's full forward: ${name}, ${attention} attention`, async () => {
    const dir = await fixtureDir(name);
    const lm = await CausalLM.load(dir, { threads: 1, attention });
    try {
      const rows = [[1, 20, 21, 22, 23, 24, 25, 26, 27], [1, 30, 31, 32]];
      const ctx = await lm.run(padBatch(rows), { cache: true });
      const V = lm.spec.vocab;
      for (const next of [[[40], [41]], [[42, 43], [44, 45]]]) {
        const step = await lm.run(padBatch(next, 0, 'right', { length: ctx.cache!.length, mask: ctx.cache!.mask }), { past: ctx.cache, logits: true });
        for (const [b, row] of rows.entries()) {
          const full = await lm.logits(padBatch([[...row, ...next[b]]]));
          const want = full.data.subarray(row.length * V, (row.length + next[b].length) * V);
          const got = step.logits!.data.subarray(b * next[b].length * V, (b + 1) * next[b].length * V);
          const diff = maxDiff(got, want);
          assert.ok(diff <= 1e-4, `row ${b}, ${next[b].length} new token(s): logits differ by ${diff}`);
        }
      }
    } finally {
      await lm.close();
    }
  });
}
