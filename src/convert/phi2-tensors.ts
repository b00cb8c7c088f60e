/**
 * The tensors of llama.cpp's phi2 architecture (llama_model_phi2::load_arch_tensors) as
 * PhiForCausalLM's. Every bias the phi2 graph adds is required here, q/k/v's included: llama.cpp
 * loads those three as optional, but Phi2Model always writes them and PhiForCausalLM always has
 * them. Which projection layout a block uses is decided per block, as llama.cpp does: one fused
 * blk.N.attn_qkv (q rows, then k, then v; files from Microsoft's original checkpoint layout) is
 * split into q_proj, k_proj and v_proj, else the separate attn_q, attn_k and attn_v are read.
 */
import type { LlamaLayout } from './llama-layout.js';
import { type Expected, type TensorPlan, dimensionLabels } from './tensor-plan.js';

export function phi2Plan(layout: LlamaLayout, has: (gguf: string) => boolean): TensorPlan {
  const { hidden, intermediate, heads, kvHeads, headDim, vocab } = layout;
  const { embedding, vocabulary, ffn, q, kv } = dimensionLabels(layout);
  const expected: Expected[] = [];
  const add = (gguf: string, hfName: string, shape: number[], from: string, rows?: Expected['rows']) => expected.push({ gguf, hfName, shape, from, rows });
  /** weight and bias of one projection, [out, in]. */
  const linear = (gguf: string, hf: string, out: number, inputs: number, from: string) => {
    add(`${gguf}.weight`, `${hf}.weight`, [out, inputs], from);
    add(`${gguf}.bias`, `${hf}.bias`, [out], from.split(', ')[0]);
  };
  const layerNorm = (gguf: string, hf: string) => {
    add(`${gguf}.weight`, `${hf}.weight`, [hidden], embedding);
    add(`${gguf}.bias`, `${hf}.bias`, [hidden], embedding);
  };

  add('token_embd.weight', 'model.embed_tokens.weight', [vocab, hidden], `${vocabulary}, ${embedding}`);
  for (let i = 0; i < layout.layers; i++) {
    const blk = `blk.${i}`;
    const hf = `model.layers.${i}`;
    layerNorm(`${blk}.attn_norm`, `${hf}.input_layernorm`);
    if (has(`${blk}.attn_qkv.weight`)) {
      const qRows = heads * headDim;
      const kvRows = kvHeads * headDim;
      const fused = [qRows + 2 * kvRows, hidden];
      const from = `${q} + 2 × ${kv}`;
      const parts = [['q_proj', 0, qRows], ['k_proj', qRows, kvRows], ['v_proj', qRows + kvRows, kvRows]] as const;
      for (const [proj, start, count] of parts) {
        add(`${blk}.attn_qkv.weight`, `${hf}.self_attn.${proj}.weight`, fused, `${from}, ${embedding}`, { start, count });
        add(`${blk}.attn_qkv.bias`, `${hf}.self_attn.${proj}.bias`, fused.slice(0, 1), from, { start, count });
      }
    } else {
      linear(`${blk}.attn_q`, `${hf}.self_attn.q_proj`, heads * headDim, hidden, `${q}, ${embedding}`);
      linear(`${blk}.attn_k`, `${hf}.self_attn.k_proj`, kvHeads * headDim, hidden, `${kv}, ${embedding}`);
      linear(`${blk}.attn_v`, `${hf}.self_attn.v_proj`, kvHeads * headDim, hidden, `${kv}, ${embedding}`);
    }
    linear(`${blk}.attn_output`, `${hf}.self_attn.dense`, hidden, heads * headDim, `${embedding}, ${q}`);
    linear(`${blk}.ffn_up`, `${hf}.mlp.fc1`, intermediate, hidden, `${ffn}, ${embedding}`);
    linear(`${blk}.ffn_down`, `${hf}.mlp.fc2`, hidden, intermediate, `${embedding}, ${ffn}`);
  }
  layerNorm('output_norm', 'model.final_layernorm');
  // The phi2 graph requires its own output matrix (no tied embeddings) and adds a bias to it.
  linear('output', 'lm_head', vocab, hidden, `${vocabulary}, ${embedding}`);
  return { expected, ignored: new Set() };
}
