/**
 * Which llama.cpp architecture a transformers model type is written as, read from the same table
 * the GGUF import side uses (src/convert/gguf-architectures.ts), so the two directions cannot
 * disagree on a family's layout. Fused layouts (phi3's attn_qkv / ffn_up) and the phi2 block are
 * import-only: the export writes the llama block alone.
 */
import { GGUF_ARCHITECTURES, type GgufArchitecture } from '../../convert/gguf-architectures.js';

export interface GgufExportArchitecture {
  /** general.architecture, and the prefix of every hyperparameter key. */
  name: string;
  /** Interleave q/k rows for llama.cpp's pairwise (NORM) rotary; NEOX architectures keep HF order. */
  permuteQK: boolean;
  /**
   * blk.N.attn_{q,k,v}.bias belong to the architecture (convert_hf_to_gguf always writes them for
   * qwen2, and older llama.cpp builds require them), so they are written even when all zero.
   */
  requiredQkvBias: boolean;
}

function exportable(a: GgufArchitecture): boolean {
  return a.graph === 'llama' && !a.fused;
}

/** The architecture a model type's uniform-width models are written as (deci is reached by shape alone). */
function uniformArchitectureOf(modelType: string): string | undefined {
  return Object.keys(GGUF_ARCHITECTURES).find((key) => {
    const a = GGUF_ARCHITECTURES[key];
    return a.modelType === modelType && exportable(a) && !a.perLayerWidths;
  });
}

export const EXPORTABLE_MODEL_TYPES: readonly string[] = [...new Set(Object.values(GGUF_ARCHITECTURES).filter(exportable).map((a) => a.modelType))];

/**
 * Architectures whose llama.cpp graph sizes attn_q/attn_output from embedding_length alone
 * (qwen2: {n_embd, n_embd}), so a model with fewer heads than hidden / head_dim (head-pruned)
 * cannot load as itself. Such a model is written as the named architecture instead: transformers
 * rotates llama and qwen2 alike (by halves), so llama's row interleave makes it llama.cpp's llama,
 * whose graph takes q/k/v biases as optional tensors and reads head sizes from key_length.
 */
const WHEN_HEADS_NARROWER: Readonly<Record<string, string>> = { qwen2: 'llama' };

function fromImportTable(name: string): GgufExportArchitecture | undefined {
  const a = GGUF_ARCHITECTURES[name];
  if (!a || !exportable(a)) return undefined;
  return { name, permuteQK: a.permutedQK, requiredQkvBias: a.qkvBias };
}

/**
 * llama.cpp's llama and qwen2 graphs size every layer from one head count and FFN width (node-llama-cpp
 * 3.21.1 refuses per-layer arrays there: "tensor 'blk.1.ffn_gate.weight' has wrong shape"). Its `deci`
 * architecture (Nemotron-NAS) reads head_count, head_count_kv and feed_forward_length per layer and
 * builds each layer at its own widths, with llama's pairwise rotary and optional biases on every
 * projection (q/k/v, o, gate/up/down): a per-layer-width pruned model of either family runs as it.
 */
const PER_LAYER_WIDTHS = 'deci';

export interface ExportShape {
  /** heads × head_dim = hidden in every layer. */
  headsFillHidden: boolean;
  /** Every layer has the same heads, KV heads and MLP width. */
  uniformWidths: boolean;
}

/** The architecture to write a `modelType` model of this shape as. */
export function exportArchitecture(modelType: string, shape: ExportShape): GgufExportArchitecture | undefined {
  const name = uniformArchitectureOf(modelType);
  if (name === undefined) return undefined;
  if (!shape.uniformWidths) return fromImportTable(PER_LAYER_WIDTHS);
  const headsFillHidden = shape.headsFillHidden;
  const fallback = WHEN_HEADS_NARROWER[name];
  return fromImportTable(!headsFillHidden && fallback !== undefined ? fallback : name);
}
