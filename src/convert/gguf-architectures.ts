/**
 * The LLaMA-shaped GGUF architectures this converter reads, as data: which transformers model each
 * becomes and the few ways they differ in the file. The metadata keys (`<arch>.embedding_length`,
 * ...) and tensor names (blk.N.attn_q, ...) are the same for all of them.
 */

export interface GgufArchitecture {
  /** transformers class written to config.json `architectures`. */
  hfArchitecture: string;
  modelType: string;
  /**
   * Whether llama.cpp's converter interleaved each q/k head's rows (LlamaModel.permute). It does so
   * for the models its runtime rotates pairwise (rope type NORM: llama); those it rotates by halves
   * (NEOX: qwen2) are stored in transformers' row order already.
   */
  permutedQK: boolean;
  /** q/k/v projections carry biases (blk.N.attn_{q,k,v}.bias). */
  qkvBias: boolean;
  /**
   * q/k/v stored as one blk.N.attn_qkv (q rows, then k, then v) and gate/up as one blk.N.ffn_up
   * (gate rows, then up), as llama.cpp keeps Phi-3's fused projections; transformers' Phi3 holds
   * them fused the same way (qkv_proj, gate_up_proj), so they pass through whole.
   */
  fused: boolean;
  /**
   * Projection biases the file may carry or leave out, in groups that share one config.json flag.
   * llama.cpp's llama graph loads every projection bias as optional and adds only those it finds
   * (our export leaves all-zero ones out), while transformers' LlamaConfig has one flag per group:
   * attention_bias gives q, k, v and o a bias each, mlp_bias gate, up and down. So a group with any
   * bias in the file sets its flag, and the biases of that group the file lacks are written as zeros.
   */
  optionalBiases: readonly BiasGroup[];
  /** config.json keys only this model type has, with the values a GGUF implies. */
  configExtras: Record<string, unknown>;
}

export interface BiasGroup {
  /** config.json flag that gives every projection of the group a bias. */
  configKey: string;
  /** Their names within blk.N, without `.bias` (attn_q, ffn_down, ...). */
  projections: readonly string[];
}

const LLAMA_BIAS_GROUPS: readonly BiasGroup[] = [
  { configKey: 'attention_bias', projections: ['attn_q', 'attn_k', 'attn_v', 'attn_output'] },
  { configKey: 'mlp_bias', projections: ['ffn_gate', 'ffn_up', 'ffn_down'] },
];

export const GGUF_ARCHITECTURES: Readonly<Record<string, GgufArchitecture>> = {
  llama: {
    hfArchitecture: 'LlamaForCausalLM',
    modelType: 'llama',
    permutedQK: true,
    qkvBias: false,
    fused: false,
    optionalBiases: LLAMA_BIAS_GROUPS,
    configExtras: { attention_bias: false, mlp_bias: false, pretraining_tp: 1 },
  },
  qwen2: {
    hfArchitecture: 'Qwen2ForCausalLM',
    modelType: 'qwen2',
    permutedQK: false,
    qkvBias: true,
    fused: false,
    optionalBiases: [],
    // llama.cpp has no sliding-window attention for qwen2, so a file runs with full attention.
    configExtras: { use_sliding_window: false },
  },
  phi3: {
    hfArchitecture: 'Phi3ForCausalLM',
    modelType: 'phi3',
    permutedQK: false,
    qkvBias: false,
    fused: true,
    optionalBiases: [],
    // Full attention, as transformers' GGUF loader runs it (it reads no sliding window from the file).
    configExtras: { sliding_window: null, partial_rotary_factor: 1.0 },
  },
};

export const SUPPORTED_ARCHITECTURES = Object.keys(GGUF_ARCHITECTURES);
