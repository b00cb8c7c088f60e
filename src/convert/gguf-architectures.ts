/**
 * The GGUF architectures this converter reads, as data: which transformers model each becomes and
 * the few ways they differ in the file. The metadata keys (`<arch>.embedding_length`, ...) and
 * tensor names (blk.N.attn_q, ...) are the same for all of them.
 */

export interface GgufArchitecture {
  /** transformers class written to config.json `architectures`. */
  hfArchitecture: string;
  modelType: string;
  /**
   * Which block the file's tensors describe. llama: RMSNorm before attention and again before a
   * gated MLP (llama, qwen2, phi3). phi2: one LayerNorm (with bias) feeding attention and a plain
   * fc1/fc2 MLP in parallel, biases on every projection and on the output head. Only the llama
   * block can be exported back to GGUF.
   */
  graph: 'llama' | 'phi2';
  /** The epsilon's metadata key (after `<arch>.`) and the config.json key transformers reads it from. */
  normEps: { metadata: string; config: string };
  /**
   * Rotary embeddings may cover only the first rope.dimension_count values of each head (phi2:
   * Phi2Model writes partial_rotary_factor × head size there), so the key is required and becomes
   * partial_rotary_factor; elsewhere it must equal the head size.
   */
  partialRotary: boolean;
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
  /**
   * head_count, head_count_kv and feed_forward_length may list one value per block (llama.cpp's
   * deci, Nemotron-NAS; our export of per-layer-width pruned models), or give one for all. The
   * folder then states the widths per layer as amp-prune's pruned configs do (LAYER_WIDTHS_KEY).
   */
  perLayerWidths: boolean;
  /**
   * rope.scaling.type values this architecture's llama.cpp graph reads in a way config.json
   * cannot state (deci's longrope takes per-file rope_factors_long/short tensors).
   */
  unmappedRopeScaling: readonly string[];
}

export interface BiasGroup {
  /** config.json flag that gives every projection of the group a bias. */
  configKey: string;
  /** Their names within blk.N, without `.bias` (attn_q, ffn_down, ...). */
  projections: readonly string[];
}

const RMS_EPS = { metadata: 'attention.layer_norm_rms_epsilon', config: 'rms_norm_eps' };

const LLAMA_BIAS_GROUPS: readonly BiasGroup[] = [
  { configKey: 'attention_bias', projections: ['attn_q', 'attn_k', 'attn_v', 'attn_output'] },
  { configKey: 'mlp_bias', projections: ['ffn_gate', 'ffn_up', 'ffn_down'] },
];

const LLAMA: GgufArchitecture = {
  graph: 'llama',
  normEps: RMS_EPS,
  partialRotary: false,
  hfArchitecture: 'LlamaForCausalLM',
  modelType: 'llama',
  permutedQK: true,
  qkvBias: false,
  fused: false,
  optionalBiases: LLAMA_BIAS_GROUPS,
  configExtras: { attention_bias: false, mlp_bias: false, pretraining_tp: 1 },
  perLayerWidths: false,
  unmappedRopeScaling: [],
};

export const GGUF_ARCHITECTURES: Readonly<Record<string, GgufArchitecture>> = {
  llama: LLAMA,
  // llama.cpp's Nemotron-NAS graph: llama's block (pairwise rotary, optional biases on every
  // projection) sized per layer. Its attention-free, "linear attention" and FFN-free layers (a
  // count of 0) have no LlamaForCausalLM counterpart and are refused by llama-layout.ts.
  deci: { ...LLAMA, perLayerWidths: true, unmappedRopeScaling: ['longrope'] },
  qwen2: {
    graph: 'llama',
    normEps: RMS_EPS,
    partialRotary: false,
    hfArchitecture: 'Qwen2ForCausalLM',
    modelType: 'qwen2',
    permutedQK: false,
    qkvBias: true,
    fused: false,
    optionalBiases: [],
    // llama.cpp has no sliding-window attention for qwen2, so a file runs with full attention.
    configExtras: { use_sliding_window: false },
    perLayerWidths: false,
    unmappedRopeScaling: [],
  },
  phi3: {
    graph: 'llama',
    normEps: RMS_EPS,
    partialRotary: false,
    hfArchitecture: 'Phi3ForCausalLM',
    modelType: 'phi3',
    permutedQK: false,
    qkvBias: false,
    fused: true,
    optionalBiases: [],
    // Full attention, as transformers' GGUF loader runs it (it reads no sliding window from the file).
    configExtras: { sliding_window: null, partial_rotary_factor: 1.0 },
    perLayerWidths: false,
    unmappedRopeScaling: [],
  },
  phi2: {
    hfArchitecture: 'PhiForCausalLM',
    modelType: 'phi',
    graph: 'phi2',
    normEps: { metadata: 'attention.layer_norm_epsilon', config: 'layer_norm_eps' },
    partialRotary: true,
    // NEOX rotary (llama_model_rope_type): llama.cpp rotates by halves, as transformers does.
    permutedQK: false,
    qkvBias: true,
    // older files (from Microsoft's original layout) keep blk.N.attn_qkv; the phi2 block splits it
    fused: false,
    optionalBiases: [],
    // llama.cpp's ggml_gelu is the tanh approximation, which transformers calls gelu_new.
    configExtras: { hidden_act: 'gelu_new', qk_layernorm: false, resid_pdrop: 0.0, embd_pdrop: 0.0 },
    perLayerWidths: false,
    unmappedRopeScaling: [],
  },
};

export const SUPPORTED_ARCHITECTURES = Object.keys(GGUF_ARCHITECTURES);
