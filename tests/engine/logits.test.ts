/**
 * Conformance: our ONNX engine's logits equal Python transformers' (float32, eager attention) on
 * the same tiny random checkpoints, for every supported family — MHA and GQA, tied and untied,
 * bf16 storage, sharded files, biases, explicit head_dim, sliding windows, partial rotary — on a
 * right-padded batch of real text; with the weights in the graph and fed as inputs (big models).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { attentionKernel } from '../../src/engine/attention.js';
import type { AttentionPreference } from '../../src/engine/attention.js';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { maxDiffOnRealTokens } from '../helpers/compare.js';
import { fixtureDir, fixtureVariants, referenceLogits } from '../helpers/python.js';

const TOLERANCE = 1e-4;
const ATTENTION_PATHS: AttentionPreference[] = ['auto', 'unfused'];
const kernelsCompared = new Set<string>();

const text = readFileSync(new URL('../../../shared/data/wikitext2/derived_raw_hf_joined/wikitext-test.txt', import.meta.url), 'utf8')
  .replace(/\r/g, '')
  .slice(0, 4000);
const paragraphs = text.split('\n').map((s) => s.trim()).filter((s) => s.length > 80);

const variants = await fixtureVariants();

for (const variant of variants) {
  test(`logits match transformers: ${variant.name} (${variant.model_class})`, async (t) => {
    const dir = await fixtureDir(variant.name);
    const tokenizer = await loadTokenizer(dir);
    // a long row (past mistral's sliding window) and a shorter one padded on the right
    const long = tokenizer.encode(paragraphs[0]).slice(0, 24);
    const short = tokenizer.encode(paragraphs[1]).slice(0, 13);
    const batch = padBatch([long, short], 0);
    const ids = [Array.from(batch.ids.subarray(0, batch.seqLen)), Array.from(batch.ids.subarray(batch.seqLen))];
    const mask = [Array.from(batch.mask.subarray(0, batch.seqLen)), Array.from(batch.mask.subarray(batch.seqLen))];

    const ref = await referenceLogits(dir, ids, mask);
    // both attention paths (the fused kernel where the fixture's shapes allow it, and the unfused
    // one) with the weights stored in the graph; and the weights fed as inputs (models past protobuf's 2 GiB)
    const runs: [AttentionPreference, string, number | undefined][] = [...ATTENTION_PATHS.map((a) => [a, 'initializers', undefined] as [AttentionPreference, string, undefined]), ['auto', 'inputs', 0]];
    for (const [attention, mode, inlineWeightLimit] of runs) {
      const lm = await CausalLM.load(dir, { threads: 1, attention, inlineWeightLimit });
      try {
        const kernels = new Set(lm.spec.layers.map((shape) => attentionKernel(lm.spec, shape, attention)));
        const ours = await lm.logits(batch);
        assert.deepEqual(ours.dims, ref.dims);
        const diff = maxDiffOnRealTokens(ours.data, ref.data, mask, ours.dims[2]);
        if (diff <= TOLERANCE) for (const k of kernels) kernelsCompared.add(k);
        const what = `${attention} (${[...kernels].join('+')}), weights as ${mode}`;
        t.diagnostic(`${what}: max |ours - transformers| = ${diff.toExponential(2)}`);
        assert.ok(diff <= TOLERANCE, `${what}: max |ours - transformers| = ${diff} > ${TOLERANCE}`);
      } finally {
        await lm.close();
      }
    }
  });
}

test('both attention kernels were compared with transformers above', () => {
  assert.deepEqual([...kernelsCompared].sort(), ['fused', 'unfused']);
});

test('fixtures cover every family and the tricky configurations', () => {
  const names = new Set(variants.map((v) => v.name));
  for (const n of ['llama-mha', 'llama3-gqa-tied', 'llama-bf16', 'llama-sharded', 'mistral', 'qwen2', 'qwen3', 'phi', 'phi3', 'phi3-gqa-partial']) {
    assert.ok(names.has(n), `fixture ${n} missing`);
  }
});
