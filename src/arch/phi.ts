/**
 * Phi-1.5 / Phi-2 (PhiForCausalLM): one LayerNorm feeding attention and MLP in parallel,
 * partial rotary, plain GELU MLP (fc1 -> act -> fc2), biases everywhere, lm_head bias.
 * Logical names: fc1 is `up`, fc2 is `down`, the attention output `dense` is `o`.
 */
import { ConfigReader } from './config.js';
import { ACTIVATIONS, headCols, headRows, kvHeadRows, layerWeightsFrom, NEURON_COLS, NEURON_ROWS, readHeadLayout, prunedConfig, uniformLayers } from './common.js';
import type { WeightRow } from './common.js';
import { ropeFromConfig } from './rope.js';
import type { ArchSpec, GlobalWeight, LayerShape } from './spec.js';

export const PHI_ARCHITECTURES = ['PhiForCausalLM'];

export function phiSpec(c: ConfigReader, architecture: string, shapes?: LayerShape[]): ArchSpec {
  c.oneOf('model_type', ['phi']);
  const l = readHeadLayout(c);
  const d = l.hidden;
  const dh = l.headDim;
  const layers = shapes ?? uniformLayers(l, c);
  const qkLayerNorm = c.bool('qk_layernorm', false);

  return {
    family: 'phi',
    architecture,
    modelType: 'phi',
    hidden: d,
    numLayers: l.numLayers,
    vocab: l.vocab,
    headDim: dh,
    layers,
    norm: { kind: 'layernorm', eps: c.positiveNumber('layer_norm_eps', 1e-5) },
    qkNorm: qkLayerNorm ? 'layernorm' : undefined,
    activation: c.oneOf('hidden_act', ACTIVATIONS, 'gelu_new'),
    gatedMlp: false,
    parallelResidual: true,
    rope: ropeFromConfig(c.json, dh, c.file),
    slidingWindows: layers.map(() => undefined),
    tiedEmbeddings: c.bool('tie_word_embeddings', false),
    outputBiasConfig: {}, // Phi-1.5/2's dense and fc2 always carry biases
    stockConfigNeedsHeadsDividingHidden: false,
    layerWeights(i) {
      const { heads: h, kvHeads: kv, intermediate: m } = layers[i];
      const rows: WeightRow[] = [
        { name: 'attn_norm.weight', tensor: 'input_layernorm.weight', shape: [d], part: 'norms' },
        { name: 'attn_norm.bias', tensor: 'input_layernorm.bias', shape: [d], part: 'norms' },
        { name: 'q.weight', tensor: 'self_attn.q_proj.weight', shape: [h * dh, d], part: 'attention', owner: headRows(dh) },
        { name: 'q.bias', tensor: 'self_attn.q_proj.bias', shape: [h * dh], part: 'attention', owner: headRows(dh) },
        { name: 'k.weight', tensor: 'self_attn.k_proj.weight', shape: [kv * dh, d], part: 'attention', owner: kvHeadRows(dh) },
        { name: 'k.bias', tensor: 'self_attn.k_proj.bias', shape: [kv * dh], part: 'attention', owner: kvHeadRows(dh) },
        { name: 'v.weight', tensor: 'self_attn.v_proj.weight', shape: [kv * dh, d], part: 'attention', owner: kvHeadRows(dh) },
        { name: 'v.bias', tensor: 'self_attn.v_proj.bias', shape: [kv * dh], part: 'attention', owner: kvHeadRows(dh) },
        { name: 'o.weight', tensor: 'self_attn.dense.weight', shape: [d, h * dh], part: 'attention', owner: headCols(dh) },
        { name: 'o.bias', tensor: 'self_attn.dense.bias', shape: [d], part: 'attention' },
        { name: 'up.weight', tensor: 'mlp.fc1.weight', shape: [m, d], part: 'mlp', owner: NEURON_ROWS },
        { name: 'up.bias', tensor: 'mlp.fc1.bias', shape: [m], part: 'mlp', owner: NEURON_ROWS },
        { name: 'down.weight', tensor: 'mlp.fc2.weight', shape: [d, m], part: 'mlp', owner: NEURON_COLS },
        { name: 'down.bias', tensor: 'mlp.fc2.bias', shape: [d], part: 'mlp' },
      ];
      if (qkLayerNorm) {
        rows.push(
          { name: 'q_norm.weight', tensor: 'self_attn.q_layernorm.weight', shape: [dh], part: 'norms' },
          { name: 'q_norm.bias', tensor: 'self_attn.q_layernorm.bias', shape: [dh], part: 'norms' },
          { name: 'k_norm.weight', tensor: 'self_attn.k_layernorm.weight', shape: [dh], part: 'norms' },
          { name: 'k_norm.bias', tensor: 'self_attn.k_layernorm.bias', shape: [dh], part: 'norms' },
        );
      }
      return layerWeightsFrom(`model.layers.${i}`, rows);
    },
    globalWeights() {
      const g: GlobalWeight[] = [
        { name: 'embed.weight', shape: [l.vocab, d], source: { tensor: 'model.embed_tokens.weight' } },
        { name: 'final_norm.weight', shape: [d], source: { tensor: 'model.final_layernorm.weight' } },
        { name: 'final_norm.bias', shape: [d], source: { tensor: 'model.final_layernorm.bias' } },
        { name: 'lm_head.bias', shape: [l.vocab], source: { tensor: 'lm_head.bias' } },
      ];
      if (!this.tiedEmbeddings) g.push({ name: 'lm_head.weight', shape: [l.vocab, d], source: { tensor: 'lm_head.weight' } });
      return g;
    },
    withLayers(newShapes: LayerShape[]) {
      return phiSpec(c, architecture, newShapes);
    },
    configFor(shapes: LayerShape[]) {
      return prunedConfig(c.json, shapes, dh);
    },
  };
}
