/**
 * Which transformers LlamaForCausalLM tensor becomes which llama.cpp tensor, and the rotary row
 * permutation llama.cpp's LLaMA graph needs on q and k: it rotates adjacent pairs (x[2d],
 * x[2d+1]) where transformers rotates halves (x[d], x[d + half]). This is the inverse of
 * src/convert/tensor-bytes.ts's unpermuteRows:
 *
 *   GGUF row  h·2·half + 2·d + j   <-   HF row  h·2·half + j·half + d     (j ∈ {0, 1}, d < half)
 */
import type { ArchSpec, LayerWeightName } from '../../arch/spec.js';

export interface GgufTensorPlan {
  ggufName: string;
  hfName: string;
  /** transformers shape: [out, in] for matrices. */
  shape: readonly number[];
  /** Apply llama.cpp's rotary row interleave over this many heads. */
  permuteHeads?: number;
  /**
   * Leave the tensor out of the file when every value is zero. llama.cpp loads each bias of its
   * llama graph as optional (TENSOR_NOT_REQUIRED) and adds none it did not find, so a missing
   * bias and a zero one give the same numbers; pruning with recovery writes zero q/k/v and
   * gate/up biases only because transformers' config flags come in pairs (attention_bias covers
   * q, k, v and o), and leaving them out keeps the file the size of the bias-free model.
   */
  omitIfZero?: boolean;
}

/**
 * Each layer weight the llama graph has a place for, by its GGUF name within blk.N; biases follow
 * their weight's rows, so q and k biases are interleaved like q and k.
 */
const LAYER_TENSORS: Partial<Record<LayerWeightName, { gguf: string; rotary?: 'q' | 'kv' }>> = {
  'attn_norm.weight': { gguf: 'attn_norm.weight' },
  'q.weight': { gguf: 'attn_q.weight', rotary: 'q' },
  'k.weight': { gguf: 'attn_k.weight', rotary: 'kv' },
  'v.weight': { gguf: 'attn_v.weight' },
  'o.weight': { gguf: 'attn_output.weight' },
  'mlp_norm.weight': { gguf: 'ffn_norm.weight' },
  'gate.weight': { gguf: 'ffn_gate.weight' },
  'up.weight': { gguf: 'ffn_up.weight' },
  'down.weight': { gguf: 'ffn_down.weight' },
  'q.bias': { gguf: 'attn_q.bias', rotary: 'q' },
  'k.bias': { gguf: 'attn_k.bias', rotary: 'kv' },
  'v.bias': { gguf: 'attn_v.bias' },
  'o.bias': { gguf: 'attn_output.bias' },
  'gate.bias': { gguf: 'ffn_gate.bias' },
  'up.bias': { gguf: 'ffn_up.bias' },
  'down.bias': { gguf: 'ffn_down.bias' },
};

/** The first layer weight of `spec` that a llama-shaped GGUF has no tensor for, if any. */
export function unplaceableLayerWeight(spec: ArchSpec): string | undefined {
  for (let i = 0; i < spec.numLayers; i++) {
    const weight = spec.layerWeights(i).find((w) => LAYER_TENSORS[w.name] === undefined || w.source.rows !== undefined);
    if (weight) return weight.source.tensor;
  }
  return undefined;
}

export interface TensorPlanRules {
  /** Interleave q/k rows (llama.cpp's NORM rotary); false keeps transformers' order (NEOX). */
  permuteQK: boolean;
  /** q/k/v biases the architecture requires: never left out, even when all zero. */
  requiredQkvBias: boolean;
}

const QKV_BIASES: readonly LayerWeightName[] = ['q.bias', 'k.bias', 'v.bias'];

export function llamaTensorPlan(spec: ArchSpec, rules: TensorPlanRules = { permuteQK: true, requiredQkvBias: false }): GgufTensorPlan[] {
  const { hidden: d, vocab } = spec;
  const plans: GgufTensorPlan[] = [{ ggufName: 'token_embd.weight', hfName: 'model.embed_tokens.weight', shape: [vocab, d] }];
  spec.layers.forEach(({ heads, kvHeads }, i) => {
    for (const weight of spec.layerWeights(i)) {
      const place = LAYER_TENSORS[weight.name];
      if (!place) throw new Error(`llamaTensorPlan: ${weight.name} has no GGUF tensor (checked by unplaceableLayerWeight)`);
      const rotaryHeads = place.rotary === 'q' ? heads : place.rotary === 'kv' ? kvHeads : undefined;
      const permuteHeads = rules.permuteQK ? rotaryHeads : undefined;
      const omitIfZero = weight.name.endsWith('.bias') && !(rules.requiredQkvBias && QKV_BIASES.includes(weight.name));
      plans.push({
        ggufName: `blk.${i}.${place.gguf}`,
        hfName: weight.source.tensor,
        shape: weight.shape,
        ...(permuteHeads ? { permuteHeads } : {}),
        ...(omitIfZero ? { omitIfZero: true } : {}),
      });
    }
  });
  plans.push({ ggufName: 'output_norm.weight', hfName: 'model.norm.weight', shape: [d] });
  // llama.cpp reuses token_embd when output.weight is absent, which is what tied embeddings mean.
  if (!spec.tiedEmbeddings) plans.push({ ggufName: 'output.weight', hfName: 'lm_head.weight', shape: [vocab, d] });
  return plans;
}

/** Rows of `values` (shape [rows, cols]) reordered into llama.cpp's rotary layout. */
export function permuteRows(values: Float32Array, rows: number, heads: number): Float32Array {
  const cols = values.length / rows;
  const half = rows / heads / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++) {
    for (let d = 0; d < half; d++) {
      for (let j = 0; j < 2; j++) {
        const to = (h * 2 * half + 2 * d + j) * cols;
        const from = (h * 2 * half + j * half + d) * cols;
        out.set(values.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}
