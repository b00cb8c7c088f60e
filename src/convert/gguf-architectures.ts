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
  /** config.json keys only this model type has, with the values a GGUF implies. */
  configExtras: Record<string, unknown>;
}

export const GGUF_ARCHITECTURES: Readonly<Record<string, GgufArchitecture>> = {
  llama: {
    hfArchitecture: 'LlamaForCausalLM',
    modelType: 'llama',
    permutedQK: true,
    qkvBias: false,
    configExtras: { attention_bias: false, mlp_bias: false, pretraining_tp: 1 },
  },
  qwen2: {
    hfArchitecture: 'Qwen2ForCausalLM',
    modelType: 'qwen2',
    permutedQK: false,
    qkvBias: true,
    // llama.cpp has no sliding-window attention for qwen2, so a file runs with full attention.
    configExtras: { use_sliding_window: false },
  },
};

export const SUPPORTED_ARCHITECTURES = Object.keys(GGUF_ARCHITECTURES);
