/**
 * A LLaMA-family GGUF's shape, from its <arch>.* metadata (the keys llama.cpp's converter writes),
 * and the transformers config.json it stands for. Key mapping as transformers' GGUF loader
 * (integrations/ggml.py GGUF_CONFIG_MAPPING["llama"], ["qwen2"]): context_length ->
 * max_position_embeddings, rope.dimension_count -> head_dim, rope.freq_base -> rope_theta, and so on.
 */
import { FileError } from '../errors.js';
import type { GgufMetadata } from '../io/gguf/metadata.js';
import { GGUF_ARCHITECTURES, type GgufArchitecture, SUPPORTED_ARCHITECTURES } from './gguf-architectures.js';

export interface LlamaLayout {
  /** general.architecture, e.g. "llama" or "qwen2". */
  architecture: string;
  arch: GgufArchitecture;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  contextLength: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** transformers' rope_scaling, when the file states one. */
  ropeScaling: Record<string, string | number> | undefined;
}

/** Reads and checks the llama.* keys; `tokenCount` is the vocabulary's length when the file has one. */
export function llamaLayout(metadata: GgufMetadata, tokenCount: number | undefined): LlamaLayout {
  const file = metadata.file;
  const architecture = metadata.requireString('general.architecture');
  const arch = GGUF_ARCHITECTURES[architecture];
  if (!arch) {
    throw new FileError(file, `architecture "${architecture}" is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  const key = (name: string) => `${architecture}.${name}`;
  const hidden = metadata.requireInteger(key('embedding_length'));
  const heads = metadata.requireInteger(key('attention.head_count'));
  const kvHeads = metadata.integer(key('attention.head_count_kv')) ?? heads;
  const headDim = metadata.integer(key('attention.key_length')) ?? metadata.integer(key('rope.dimension_count')) ?? hidden / heads;
  const layout: LlamaLayout = {
    architecture,
    arch,
    hidden,
    intermediate: metadata.requireInteger(key('feed_forward_length')),
    layers: metadata.requireInteger(key('block_count')),
    heads,
    kvHeads,
    headDim,
    vocab: metadata.integer(key('vocab_size')) ?? tokenCount ?? 0,
    contextLength: metadata.requireInteger(key('context_length')),
    rmsNormEps: metadata.requireNumber(key('attention.layer_norm_rms_epsilon')),
    ropeTheta: metadata.number(key('rope.freq_base')) ?? 10000,
    ropeScaling: ropeScaling(metadata, key),
  };
  for (const [name, value] of Object.entries(layout)) {
    if (typeof value === 'number' && !(value > 0 && (Number.isInteger(value) || name === 'rmsNormEps' || name === 'ropeTheta'))) {
      throw new FileError(file, `metadata gives an impossible ${name} of ${value}`);
    }
  }
  if (heads % kvHeads !== 0) throw new FileError(file, `${key('attention.head_count')} ${heads} is not a multiple of ${key('attention.head_count_kv')} ${kvHeads}`);
  if (headDim % 2 !== 0) throw new FileError(file, `head size ${headDim} is odd, which rotary embeddings cannot split`);
  const ropeDim = metadata.integer(key('rope.dimension_count'));
  if (ropeDim !== undefined && ropeDim !== headDim) throw new FileError(file, `partial rotary (${key('rope.dimension_count')} ${ropeDim} < head size ${headDim}) is not supported for ${architecture}`);
  return layout;
}

/** llama.rope.scaling.*: linear and yarn (llama.cpp's names), as transformers' rope_scaling. */
function ropeScaling(metadata: GgufMetadata, key: (name: string) => string): LlamaLayout['ropeScaling'] {
  const type = metadata.string(key('rope.scaling.type'));
  const factor = metadata.number(key('rope.scaling.factor')) ?? metadata.number(key('rope.scale_linear'));
  if (type === 'none' || factor === undefined || factor === 1) return undefined;
  const scaling: Record<string, string | number> = { rope_type: type ?? 'linear', factor };
  const original = metadata.integer(key('rope.scaling.original_context_length'));
  if (original !== undefined) scaling.original_max_position_embeddings = original;
  return scaling;
}

export type TorchDtype = 'float32' | 'float16' | 'bfloat16';

export interface SpecialTokenIds {
  bos?: number;
  eos?: number;
  pad?: number;
}

/** config.json as transformers 5 saves a LlamaConfig or Qwen2Config (rope_theta + rope_scaling spelling). */
export function llamaConfig(
  layout: LlamaLayout,
  options: { tied: boolean; dtype: TorchDtype; special: SpecialTokenIds; biasFlags?: Record<string, boolean> },
): Record<string, unknown> {
  return {
    architectures: [layout.arch.hfArchitecture],
    model_type: layout.arch.modelType,
    hidden_size: layout.hidden,
    intermediate_size: layout.intermediate,
    num_hidden_layers: layout.layers,
    num_attention_heads: layout.heads,
    num_key_value_heads: layout.kvHeads,
    head_dim: layout.headDim,
    max_position_embeddings: layout.contextLength,
    rms_norm_eps: layout.rmsNormEps,
    rope_theta: layout.ropeTheta,
    rope_scaling: layout.ropeScaling ?? null,
    vocab_size: layout.vocab,
    tie_word_embeddings: options.tied,
    bos_token_id: options.special.bos ?? null,
    eos_token_id: options.special.eos ?? null,
    pad_token_id: options.special.pad ?? null,
    hidden_act: 'silu',
    attention_dropout: 0.0,
    initializer_range: 0.02,
    ...layout.arch.configExtras,
    ...options.biasFlags,
    use_cache: true,
    torch_dtype: options.dtype,
  };
}
