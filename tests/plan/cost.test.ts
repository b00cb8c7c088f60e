import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countParams } from '../../src/arch/params.js';
import { specFromConfig } from '../../src/arch/registry.js';
import type { ArchSpec, LayerShape } from '../../src/arch/spec.js';
import { structureCosts } from '../../src/plan/cost.js';
import { llama2_7b, llama3_8b, llamaSpec, phi2 } from './models.js';

/** Parameters saved by shrinking every layer to `shape`, counted by the arch module. */
function saved(spec: ArchSpec, shape: LayerShape): number {
  return countParams(spec).total - countParams(spec.withLayers(spec.layers.map(() => shape))).total;
}

describe('structureCosts', () => {
  test('LLaMA-2-7B: no biases', () => {
    // query head: 128 q rows + 128 o columns of 4096; KV head: 128 k + 128 v rows; neuron: gate/up rows + down column
    assert.deepEqual(structureCosts(llama2_7b(), 0), { queryHead: 2 * 128 * 4096, kvHead: 2 * 128 * 4096, neuron: 3 * 4096 });
  });

  test('Phi-2: biases on q/k/v and fc1 go with their rows; dense and fc2 biases stay', () => {
    const spec = phi2();
    assert.equal(countParams(spec).total, 2_779_683_840); // Phi-2's published size
    // head_dim 80, hidden 2560: q 80·2560 + 80 bias + dense 2560·80; k, v 80·2560 + 80 each; fc1 row 2560 + 1 bias + fc2 column 2560
    assert.deepEqual(structureCosts(spec, 0), { queryHead: 409_680, kvHead: 409_760, neuron: 5121 });
    // 3 heads (with their K/V heads) and 100 neurons from each of the 32 layers
    assert.equal(saved(spec, { heads: 29, kvHeads: 29, intermediate: 10140 }), 32 * (3 * (409_680 + 409_760) + 100 * 5121));
  });

  test('Qwen2 (q/k/v bias, no o bias) and LLaMA with mlp_bias', () => {
    const qwen = specFromConfig(
      { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, hidden_size: 32, intermediate_size: 64, vocab_size: 100 },
      'config.json',
    );
    assert.deepEqual(structureCosts(qwen, 0), { queryHead: 8 * 32 + 8 + 32 * 8, kvHead: 2 * (8 * 32 + 8), neuron: 3 * 32 });
    const biased = llamaSpec({ num_hidden_layers: 2, num_attention_heads: 4, hidden_size: 32, intermediate_size: 64, vocab_size: 100, mlp_bias: true, attention_bias: true });
    assert.deepEqual(structureCosts(biased, 0), { queryHead: 8 * 32 + 8 + 32 * 8, kvHead: 2 * (8 * 32 + 8), neuron: 3 * 32 + 2 });
  });

  test('GQA group: costs add up to what countParams saves', () => {
    const spec = llama3_8b();
    const c = structureCosts(spec, 0);
    // 2 KV groups = 8 query heads + 2 KV heads, and 3298 neurons
    assert.equal(saved(spec, { heads: 24, kvHeads: 6, intermediate: 11038 }), 32 * (8 * c.queryHead + 2 * c.kvHead + 3298 * c.neuron));
  });
});
