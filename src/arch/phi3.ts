/**
 * Phi-3 / Phi-3.5 / Phi-4-mini (Phi3ForCausalLM): LLaMA-like blocks whose q/k/v and gate/up
 * projections are fused into one tensor each; partial rotary on Phi-4-mini, LongRoPE on the
 * long-context variants. Fused tensors are exposed as row ranges of logical weights.
 */
import { ConfigReader } from './config.js';
import { ACTIVATIONS, headCols, headRows, kvHeadRows, layerWeightsFrom, NEURON_COLS, NEURON_ROWS, rmsNormModelGlobals, readHeadLayout, slidingWindows, prunedConfig, uniformLayers } from './common.js';
import { ropeFromConfig } from './rope.js';
import type { ArchSpec, LayerShape } from './spec.js';

export const PHI3_ARCHITECTURES = ['Phi3ForCausalLM'];

export function phi3Spec(c: ConfigReader, architecture: string, shapes?: LayerShape[]): ArchSpec {
  c.oneOf('model_type', ['phi3']);
  const l = readHeadLayout(c);
  const d = l.hidden;
  const dh = l.headDim;
  const layers = shapes ?? uniformLayers(l, c);

  return {
    family: 'phi3',
    architecture,
    modelType: 'phi3',
    hidden: d,
    numLayers: l.numLayers,
    vocab: l.vocab,
    headDim: dh,
    layers,
    norm: { kind: 'rms', eps: c.positiveNumber('rms_norm_eps', 1e-5) },
    activation: c.oneOf('hidden_act', ACTIVATIONS, 'silu'),
    gatedMlp: true,
    parallelResidual: false,
    rope: ropeFromConfig(c.json, dh, c.file),
    slidingWindows: slidingWindows(c, l.numLayers, true),
    tiedEmbeddings: c.bool('tie_word_embeddings', false),
    outputBiasConfig: {}, // Phi3Attention/Phi3MLP have no bias option
    stockConfigNeedsHeadsDividingHidden: false,
    layerWeights(i) {
      const { heads: h, kvHeads: kv, intermediate: m } = layers[i];
      const q = h * dh;
      const k = kv * dh;
      return layerWeightsFrom(`model.layers.${i}`, [
        { name: 'attn_norm.weight', tensor: 'input_layernorm.weight', shape: [d], part: 'norms' },
        { name: 'q.weight', tensor: 'self_attn.qkv_proj.weight', shape: [q, d], rows: [0, q], part: 'attention', owner: headRows(dh) },
        { name: 'k.weight', tensor: 'self_attn.qkv_proj.weight', shape: [k, d], rows: [q, q + k], part: 'attention', owner: kvHeadRows(dh) },
        { name: 'v.weight', tensor: 'self_attn.qkv_proj.weight', shape: [k, d], rows: [q + k, q + 2 * k], part: 'attention', owner: kvHeadRows(dh) },
        { name: 'o.weight', tensor: 'self_attn.o_proj.weight', shape: [d, q], part: 'attention', owner: headCols(dh) },
        { name: 'mlp_norm.weight', tensor: 'post_attention_layernorm.weight', shape: [d], part: 'norms' },
        { name: 'gate.weight', tensor: 'mlp.gate_up_proj.weight', shape: [m, d], rows: [0, m], part: 'mlp', owner: NEURON_ROWS },
        { name: 'up.weight', tensor: 'mlp.gate_up_proj.weight', shape: [m, d], rows: [m, 2 * m], part: 'mlp', owner: NEURON_ROWS },
        { name: 'down.weight', tensor: 'mlp.down_proj.weight', shape: [d, m], part: 'mlp', owner: NEURON_COLS },
      ]);
    },
    globalWeights() {
      return rmsNormModelGlobals(l.vocab, d, this.tiedEmbeddings);
    },
    withLayers(newShapes: LayerShape[]) {
      return phi3Spec(c, architecture, newShapes);
    },
    configFor(shapes: LayerShape[]) {
      return prunedConfig(c.json, shapes, dh);
    },
  };
}
