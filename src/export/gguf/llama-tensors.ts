/**
 * Which transformers LlamaForCausalLM tensor becomes which llama.cpp tensor, and the rotary row
 * permutation llama.cpp's LLaMA graph needs on q and k: it rotates adjacent pairs (x[2d],
 * x[2d+1]) where transformers rotates halves (x[d], x[d + half]). This is the inverse of
 * src/convert/tensor-bytes.ts's unpermuteRows:
 *
 *   GGUF row  h·2·half + 2·d + j   <-   HF row  h·2·half + j·half + d     (j ∈ {0, 1}, d < half)
 */
import type { ArchSpec } from '../../arch/spec.js';

export interface GgufTensorPlan {
  ggufName: string;
  hfName: string;
  /** transformers shape: [out, in] for matrices. */
  shape: readonly number[];
  /** Apply llama.cpp's rotary row interleave over this many heads. */
  permuteHeads?: number;
}

export function llamaTensorPlan(spec: ArchSpec): GgufTensorPlan[] {
  const { hidden: d, headDim: dh, vocab } = spec;
  const plans: GgufTensorPlan[] = [{ ggufName: 'token_embd.weight', hfName: 'model.embed_tokens.weight', shape: [vocab, d] }];
  spec.layers.forEach(({ heads: h, kvHeads: kv, intermediate: m }, i) => {
    const blk = `blk.${i}`;
    const hf = `model.layers.${i}`;
    plans.push(
      { ggufName: `${blk}.attn_norm.weight`, hfName: `${hf}.input_layernorm.weight`, shape: [d] },
      { ggufName: `${blk}.attn_q.weight`, hfName: `${hf}.self_attn.q_proj.weight`, shape: [h * dh, d], permuteHeads: h },
      { ggufName: `${blk}.attn_k.weight`, hfName: `${hf}.self_attn.k_proj.weight`, shape: [kv * dh, d], permuteHeads: kv },
      { ggufName: `${blk}.attn_v.weight`, hfName: `${hf}.self_attn.v_proj.weight`, shape: [kv * dh, d] },
      { ggufName: `${blk}.attn_output.weight`, hfName: `${hf}.self_attn.o_proj.weight`, shape: [d, h * dh] },
      { ggufName: `${blk}.ffn_norm.weight`, hfName: `${hf}.post_attention_layernorm.weight`, shape: [d] },
      { ggufName: `${blk}.ffn_gate.weight`, hfName: `${hf}.mlp.gate_proj.weight`, shape: [m, d] },
      { ggufName: `${blk}.ffn_up.weight`, hfName: `${hf}.mlp.up_proj.weight`, shape: [m, d] },
      { ggufName: `${blk}.ffn_down.weight`, hfName: `${hf}.mlp.down_proj.weight`, shape: [d, m] },
    );
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
