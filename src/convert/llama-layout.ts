/**
 * A GGUF's shape, from its <arch>.* metadata (the keys llama.cpp's converter writes), and the
 * transformers config.json it stands for. Key mapping as transformers' GGUF loader
 * (integrations/ggml.py GGUF_CONFIG_MAPPING["llama"], ["qwen2"]): context_length ->
 * max_position_embeddings, rope.dimension_count -> head_dim (phi2: the rotary part of the head,
 * -> partial_rotary_factor), rope.freq_base -> rope_theta, and so on.
 */
import { prunedConfig } from '../arch/common.js';
import type { LayerShape } from '../arch/spec.js';
import { FileError } from '../errors.js';
import type { GgufMetadata } from '../io/gguf/metadata.js';
import { GGUF_ARCHITECTURES, type GgufArchitecture, SUPPORTED_ARCHITECTURES } from './gguf-architectures.js';
import { readLayerWidths } from './layer-widths.js';

export interface LlamaLayout {
  /** general.architecture, e.g. "llama" or "qwen2". */
  architecture: string;
  arch: GgufArchitecture;
  hidden: number;
  /** intermediate, heads, kvHeads: the widest block's (every block's, unless arch.perLayerWidths). */
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** Each block's widths, in block order. */
  layerWidths: readonly LayerShape[];
  headDim: number;
  vocab: number;
  contextLength: number;
  /** The RMSNorm or LayerNorm epsilon (the architecture's normEps key). */
  normEps: number;
  /** How many values of each q/k head are rotated: the head size, or fewer for partial rotary. */
  ropeDim: number;
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
  const layers = metadata.requireInteger(key('block_count'));
  if (!(layers > 0)) throw new FileError(file, `metadata gives an impossible layers of ${layers}`);
  const layerWidths = readLayerWidths(metadata, architecture, arch, layers);
  const widest = (width: (l: LayerShape) => number) => Math.max(...layerWidths.map(width));
  const heads = widest((l) => l.heads);
  const kvHeads = widest((l) => l.kvHeads);
  const statedRopeDim = metadata.integer(key('rope.dimension_count'));
  // llama.cpp takes the head size from key_length, else embedding_length / head_count (the first
  // block's, where counts are per block); a partial rotary width says nothing about it.
  const headDim = metadata.integer(key('attention.key_length')) ?? (arch.partialRotary ? undefined : statedRopeDim) ?? hidden / layerWidths[0].heads;
  // llama.cpp would rotate the whole head without the key, but Phi2Model always writes it, and a
  // phi2 model rotated in full is not the model the file was made from.
  const ropeDim = arch.partialRotary ? metadata.requireInteger(key('rope.dimension_count')) : headDim;
  const layout: LlamaLayout = {
    architecture,
    arch,
    hidden,
    intermediate: widest((l) => l.intermediate),
    layers,
    heads,
    kvHeads,
    layerWidths,
    headDim,
    vocab: metadata.integer(key('vocab_size')) ?? tokenCount ?? 0,
    contextLength: metadata.requireInteger(key('context_length')),
    normEps: metadata.requireNumber(key(arch.normEps.metadata)),
    ropeDim,
    ropeTheta: metadata.number(key('rope.freq_base')) ?? 10000,
    ropeScaling: ropeScaling(metadata, key, arch),
  };
  for (const [name, value] of Object.entries(layout)) {
    if (typeof value === 'number' && !(value > 0 && (Number.isInteger(value) || name === 'normEps' || name === 'ropeTheta'))) {
      throw new FileError(file, `metadata gives an impossible ${name} of ${value}`);
    }
  }
  if (heads % kvHeads !== 0) {
    // Per-block counts were checked block by block (layer-widths.ts); config.json's stock fields
    // then give the widest block's counts, which our engine also requires to divide.
    throw new FileError(
      file,
      arch.perLayerWidths
        ? `the widest layer's ${heads} heads are not a multiple of the widest layer's ${kvHeads} KV heads, which config.json's num_attention_heads / num_key_value_heads must be`
        : `${key('attention.head_count')} ${heads} is not a multiple of ${key('attention.head_count_kv')} ${kvHeads}`,
    );
  }
  const valueLength = metadata.integer(key('attention.value_length'));
  if (valueLength !== undefined && valueLength !== headDim) throw new FileError(file, `${key('attention.value_length')} ${valueLength} differs from the key head size ${headDim}, which ${architecture} models cannot have`);
  if (headDim % 2 !== 0) throw new FileError(file, `head size ${headDim} is odd, which rotary embeddings cannot split`);
  if (arch.partialRotary) {
    if (ropeDim > headDim) throw new FileError(file, `${key('rope.dimension_count')} ${ropeDim} is larger than the head size ${headDim}`);
    if (ropeDim % 2 !== 0) throw new FileError(file, `${key('rope.dimension_count')} ${ropeDim} is odd, which rotary embeddings cannot split`);
    // the phi2 graph sizes q and the attention output from embedding_length alone
    if (heads * headDim !== hidden) throw new FileError(file, `head_count ${heads} × head size ${headDim} is not ${key('embedding_length')} ${hidden}, as the ${architecture} graph needs`);
  } else if (statedRopeDim !== undefined && statedRopeDim !== headDim) {
    throw new FileError(file, `partial rotary (${key('rope.dimension_count')} ${statedRopeDim} < head size ${headDim}) is not supported for ${architecture}`);
  }
  return layout;
}

/** llama.rope.scaling.*: linear and yarn (llama.cpp's names), as transformers' rope_scaling. */
function ropeScaling(metadata: GgufMetadata, key: (name: string) => string, arch: GgufArchitecture): LlamaLayout['ropeScaling'] {
  const type = metadata.string(key('rope.scaling.type'));
  if (type !== undefined && arch.unmappedRopeScaling.includes(type)) {
    throw new FileError(metadata.file, `${key('rope.scaling.type')} ${type} is not supported: this architecture's llama.cpp graph takes its factors from rope_factors_long/short tensors, which this converter does not map`);
  }
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

/**
 * config.json as transformers saves a LlamaConfig, Qwen2Config, Phi3Config or PhiConfig, in the
 * legacy rope spelling (rope_theta, rope_scaling, partial_rotary_factor) that both 4 and 5 read.
 * Widths that differ per block are stated as amp-prune states a pruned model's (prunedConfig: the
 * list under LAYER_WIDTHS_KEY, the stock fields at the widest block), so the folder runs as the
 * model the file was exported from.
 */
export function llamaConfig(
  layout: LlamaLayout,
  options: { tied: boolean; dtype: TorchDtype; special: SpecialTokenIds; biasFlags?: Record<string, boolean> },
): Record<string, unknown> {
  const config = {
    architectures: [layout.arch.hfArchitecture],
    model_type: layout.arch.modelType,
    hidden_size: layout.hidden,
    intermediate_size: layout.intermediate,
    num_hidden_layers: layout.layers,
    num_attention_heads: layout.heads,
    num_key_value_heads: layout.kvHeads,
    head_dim: layout.headDim,
    max_position_embeddings: layout.contextLength,
    [layout.arch.normEps.config]: layout.normEps,
    rope_theta: layout.ropeTheta,
    rope_scaling: layout.ropeScaling ?? null,
    ...(layout.arch.partialRotary ? { partial_rotary_factor: partialRotaryFactor(layout.ropeDim, layout.headDim) } : {}),
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
  return prunedConfig(config, [...layout.layerWidths], layout.headDim);
}

/**
 * ropeDim / headDim, nudged up where needed so that transformers' int(head_dim × factor) (and our
 * engine's floor of the same product) gives ropeDim back rather than one less.
 */
export function partialRotaryFactor(ropeDim: number, headDim: number): number {
  let factor = ropeDim / headDim;
  while (Math.floor(headDim * factor) < ropeDim) factor += Number.EPSILON * factor;
  return factor;
}
