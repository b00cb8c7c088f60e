/**
 * The tensors a GGUF of some architecture must hold, and which transformers tensor each becomes,
 * with the shape its metadata implies: the list that llama-tensors.ts (llama block) and
 * phi2-tensors.ts (phi2 block) build and mapGgufTensors checks the file against.
 */
import type { BiasGroup } from './gguf-architectures.js';
import type { LlamaLayout } from './llama-layout.js';

export interface Expected {
  /** The GGUF tensor's name. */
  gguf: string;
  hfName: string;
  /** The GGUF tensor's shape in transformers order ([out, in]: its dims reversed). */
  shape: number[];
  /** Only these rows of it make up hfName (one of q, k, v in a fused attn_qkv). */
  rows?: { start: number; count: number };
  unpermuteHeads?: number;
  /** The metadata values the shape comes from, for the error message. */
  from: string;
  /** An optional bias of this group: present or not, as the file has it. */
  optionalIn?: BiasGroup;
}

/**
 * How each dimension follows from the metadata, for the message when a tensor disagrees; with
 * per-block counts, block `layer`'s entries (head_count[1] ...).
 */
export function dimensionLabels(layout: LlamaLayout, layer = 0) {
  const { hidden, headDim, vocab } = layout;
  const { heads, kvHeads, intermediate } = layout.layerWidths[layer];
  const at = layout.arch.perLayerWidths ? `[${layer}]` : '';
  return {
    embedding: `embedding_length ${hidden}`,
    vocabulary: `vocabulary ${vocab}`,
    ffn: `feed_forward_length${at} ${intermediate}`,
    q: `head_count${at} ${heads} × head size ${headDim}`,
    kv: `head_count_kv${at} ${kvHeads} × head size ${headDim}`,
  };
}

export interface TensorPlan {
  /** In checkpoint order (embeddings, layers, final norm, head). */
  expected: Expected[];
  /** Tensors llama.cpp may write that have no transformers counterpart and change nothing here. */
  ignored: ReadonlySet<string>;
}

/** The transformers shape of an expected tensor: its rows, when it is a slice. */
export function hfShape(want: Expected): number[] {
  return want.rows ? [want.rows.count, ...want.shape.slice(1)] : want.shape;
}
