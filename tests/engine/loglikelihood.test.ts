/**
 * CausalLM.loglikelihood (log-softmax and argmax computed in the graph) against log-probabilities
 * derived from transformers' logits, on requests of different lengths packed into padded batches.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CausalLM, packByLength } from '../../src/engine/causal-lm.js';
import { fixtureDir, referenceLogits } from '../helpers/python.js';

function logSoftmaxAt(row: Float32Array, index: number): number {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return row[index] - max - Math.log(sum);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

test('packByLength keeps every index once, longest first, under the token budget', () => {
  const lengths = [5, 9, 1, 9, 3, 7];
  const batches = packByLength(lengths, 20);
  assert.deepEqual(batches.flat().sort(), [0, 1, 2, 3, 4, 5]);
  for (const b of batches) assert.ok(b.length === 1 || Math.max(...b.map((i) => lengths[i])) * b.length <= 20);
  assert.deepEqual(batches[0], [1, 3]);
});

for (const name of ['llama3-gqa-tied', 'phi']) {
  test(`loglikelihood equals transformers' log-softmax: ${name}`, async () => {
    const dir = await fixtureDir(name);
    const requests = [
      { tokens: [5, 17, 33, 2, 99, 41, 7, 8], scoreFrom: 5 },
      { tokens: [5, 17, 33, 2, 61], scoreFrom: 4 },
      { tokens: [12, 3, 3, 3, 3, 3, 4, 80, 90, 100, 23], scoreFrom: 1 },
    ];
    const lm = await CausalLM.load(dir, { threads: 1 });
    try {
      const ours = await lm.loglikelihood(requests, { maxBatchTokens: 16 });
      for (const [i, r] of requests.entries()) {
        const ref = await referenceLogits(dir, [r.tokens]);
        const V = ref.dims[2];
        let expected = 0;
        let greedy = true;
        for (let t = r.scoreFrom; t < r.tokens.length; t++) {
          const row = ref.data.subarray((t - 1) * V, t * V);
          expected += logSoftmaxAt(row, r.tokens[t]);
          greedy &&= argmax(row) === r.tokens[t];
        }
        assert.ok(Math.abs(ours[i].logprob - expected) <= 1e-4, `request ${i}: ${ours[i].logprob} vs ${expected}`);
        assert.equal(ours[i].greedy, greedy);
        assert.equal(ours[i].tokenLogprobs.length, r.tokens.length - r.scoreFrom);
      }
    } finally {
      await lm.close();
    }
  });
}

test('shared contexts computed once give the same log-likelihoods as whole sequences (and transformers)', async () => {
  const dir = await fixtureDir('qwen2');
  const ctxA = [11, 12, 13, 14, 15, 16, 17];
  const ctxB = [40, 41, 42];
  const requests = [
    { tokens: [...ctxA, 30, 31], scoreFrom: 7 },
    { tokens: [...ctxA, 32], scoreFrom: 7 },
    { tokens: [...ctxA, 33, 34, 35, 36], scoreFrom: 7 },
    { tokens: [...ctxB, 50], scoreFrom: 3 },
    { tokens: [...ctxB, 51, 52], scoreFrom: 3 },
    { tokens: [60, 61, 62, 63], scoreFrom: 2 },
  ];
  const lm = await CausalLM.load(dir, { threads: 1 });
  try {
    const shared = await lm.loglikelihood(requests);
    const separate = await lm.loglikelihood(requests, { sharePrefixes: false });
    for (const [i, r] of requests.entries()) {
      assert.ok(Math.abs(shared[i].logprob - separate[i].logprob) <= 1e-5, `request ${i}`);
      assert.equal(shared[i].greedy, separate[i].greedy);
      const ref = await referenceLogits(dir, [r.tokens]);
      const V = ref.dims[2];
      let expected = 0;
      for (let t = r.scoreFrom; t < r.tokens.length; t++) expected += logSoftmaxAt(ref.data.subarray((t - 1) * V, t * V), r.tokens[t]);
      assert.ok(Math.abs(shared[i].logprob - expected) <= 1e-4, `request ${i}: ${shared[i].logprob} vs ${expected}`);
    }
  } finally {
    await lm.close();
  }
});
