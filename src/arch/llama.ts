/**
 * LLaMA family: LLaMA-1/2/3, Mistral, Qwen2 (q/k/v bias), Qwen3 (q/k RMSNorm), SmolLM.
 * Pre-norm sequential blocks, RMSNorm, gated SiLU MLP, grouped-query attention.
 */
import { ConfigReader } from './config.js';
import { ACTIVATIONS, headCols, headRows, kvHeadRows, layerWeightsFrom, NEURON_COLS, NEURON_ROWS, rmsNormModelGlobals, readHeadLayout, slidingWindows, prunedConfig, uniformLayers } from './common.js';
import type { WeightRow } from './common.js';
import { ropeFromConfig } from './rope.js';
import type { ArchSpec, LayerShape } from './spec.js';

/** What distinguishes the members of the family, keyed by config model_type. */
type BiasRule = 'config' | 'always' | 'never';
const VARIANTS: Record<string, { qkvBias: BiasRule; oBias: BiasRule; mlpBias: BiasRule; qkNorm?: boolean; slidingAllLayers?: boolean; outputBiasConfig: Record<string, unknown>; headsDivideHidden?: boolean }> = {
  llama: { qkvBias: 'config', oBias: 'config', mlpBias: 'config', outputBiasConfig: { attention_bias: true, mlp_bias: true }, headsDivideHidden: true },
  mistral: { qkvBias: 'never', oBias: 'never', mlpBias: 'never', slidingAllLayers: true, outputBiasConfig: {} },
  qwen2: { qkvBias: 'always', oBias: 'never', mlpBias: 'never', outputBiasConfig: {} },
  qwen3: { qkvBias: 'config', oBias: 'config', mlpBias: 'never', qkNorm: true, outputBiasConfig: { attention_bias: true } },
};

export const LLAMA_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM'];

export function llamaSpec(c: ConfigReader, architecture: string, shapes?: LayerShape[]): ArchSpec {
  const modelType = c.oneOf('model_type', Object.keys(VARIANTS));
  const variant = VARIANTS[modelType];
  const l = readHeadLayout(c);
  const bias = (rule: BiasRule, key: string) => rule === 'always' || (rule === 'config' && c.bool(key, false));
  const qkvBias = bias(variant.qkvBias, 'attention_bias');
  const oBias = bias(variant.oBias, 'attention_bias');
  const mlpBias = bias(variant.mlpBias, 'mlp_bias');
  const d = l.hidden;
  const dh = l.headDim;
  const layers = shapes ?? uniformLayers(l, c);

  return {
    family: 'llama',
    architecture,
    modelType,
    hidden: d,
    numLayers: l.numLayers,
    vocab: l.vocab,
    headDim: dh,
    layers,
    norm: { kind: 'rms', eps: c.positiveNumber('rms_norm_eps', 1e-6) },
    qkNorm: variant.qkNorm ? 'rms' : undefined,
    activation: c.oneOf('hidden_act', ACTIVATIONS, 'silu'),
    gatedMlp: true,
    parallelResidual: false,
    rope: ropeFromConfig(c.json, dh, c.file),
    slidingWindows: slidingWindows(c, l.numLayers, variant.slidingAllLayers ?? false),
    tiedEmbeddings: c.bool('tie_word_embeddings', false),
    outputBiasConfig: variant.outputBiasConfig,
    stockConfigNeedsHeadsDividingHidden: variant.headsDivideHidden ?? false,
    layerWeights(i) {
      const { heads: h, kvHeads: kv, intermediate: m } = layers[i];
      const rows: WeightRow[] = [
        { name: 'attn_norm.weight', tensor: 'input_layernorm.weight', shape: [d], part: 'norms' },
        { name: 'q.weight', tensor: 'self_attn.q_proj.weight', shape: [h * dh, d], part: 'attention', owner: headRows(dh) },
        { name: 'k.weight', tensor: 'self_attn.k_proj.weight', shape: [kv * dh, d], part: 'attention', owner: kvHeadRows(dh) },
        { name: 'v.weight', tensor: 'self_attn.v_proj.weight', shape: [kv * dh, d], part: 'attention', owner: kvHeadRows(dh) },
        { name: 'o.weight', tensor: 'self_attn.o_proj.weight', shape: [d, h * dh], part: 'attention', owner: headCols(dh) },
        { name: 'mlp_norm.weight', tensor: 'post_attention_layernorm.weight', shape: [d], part: 'norms' },
        { name: 'gate.weight', tensor: 'mlp.gate_proj.weight', shape: [m, d], part: 'mlp', owner: NEURON_ROWS },
        { name: 'up.weight', tensor: 'mlp.up_proj.weight', shape: [m, d], part: 'mlp', owner: NEURON_ROWS },
        { name: 'down.weight', tensor: 'mlp.down_proj.weight', shape: [d, m], part: 'mlp', owner: NEURON_COLS },
      ];
      if (qkvBias) {
        rows.push(
          { name: 'q.bias', tensor: 'self_attn.q_proj.bias', shape: [h * dh], part: 'attention', owner: headRows(dh) },
          { name: 'k.bias', tensor: 'self_attn.k_proj.bias', shape: [kv * dh], part: 'attention', owner: kvHeadRows(dh) },
          { name: 'v.bias', tensor: 'self_attn.v_proj.bias', shape: [kv * dh], part: 'attention', owner: kvHeadRows(dh) },
        );
      }
      if (oBias) rows.push({ name: 'o.bias', tensor: 'self_attn.o_proj.bias', shape: [d], part: 'attention' });
      if (mlpBias) {
        rows.push(
          { name: 'gate.bias', tensor: 'mlp.gate_proj.bias', shape: [m], part: 'mlp', owner: NEURON_ROWS },
          { name: 'up.bias', tensor: 'mlp.up_proj.bias', shape: [m], part: 'mlp', owner: NEURON_ROWS },
          { name: 'down.bias', tensor: 'mlp.down_proj.bias', shape: [d], part: 'mlp' },
        );
      }
      if (variant.qkNorm) {
        rows.push(
          { name: 'q_norm.weight', tensor: 'self_attn.q_norm.weight', shape: [dh], part: 'norms' },
          { name: 'k_norm.weight', tensor: 'self_attn.k_norm.weight', shape: [dh], part: 'norms' },
        );
      }
      return layerWeightsFrom(`model.layers.${i}`, rows);
    },
    globalWeights() {
      return rmsNormModelGlobals(l.vocab, d, this.tiedEmbeddings);
    },
    withLayers(newShapes: LayerShape[]) {
      return llamaSpec(c, architecture, newShapes);
    },
    configFor(shapes: LayerShape[]) {
      return prunedConfig(c.json, shapes, dh);
    },
  };
}
