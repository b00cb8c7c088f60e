/**
 * Model cost from shapes alone, so a measured speedup can be set beside the one FLOPs predict.
 *
 *   flops_per_token = 2 · matmul_parameters        (one multiply and one add per weight)
 *   matmul_parameters = Σ_layers (q, k, v, o, gate, up, down weights) + vocab · hidden (lm_head)
 *
 * The lm_head counts even when tied to the embeddings: the product is computed either way, while
 * the embedding lookup is not a product. Left out: biases, norms, activations, RoPE, softmax, and
 * attention over the context (QKᵀ and AV), which grows with position; the latter is reported
 * separately as attention_flops_per_context_token so a reader can add it for a given length.
 */
import { countParams } from '../arch/params.js';
import type { ArchSpec } from '../arch/spec.js';

export interface ModelCost {
  parameters: number;
  matmulParameters: number;
  flopsPerToken: number;
  attentionFlopsPerContextToken: number;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function matmulParameters(spec: ArchSpec): number {
  let total = spec.vocab * spec.hidden;
  for (let i = 0; i < spec.numLayers; i++) {
    for (const w of spec.layerWeights(i)) if (w.name.endsWith('.weight') && w.shape.length === 2) total += numel(w.shape);
  }
  return total;
}

export function modelCost(spec: ArchSpec): ModelCost {
  const matmul = matmulParameters(spec);
  // per context token: q·k (2·d_h FLOPs) and p·v (2·d_h FLOPs) for every query head
  const attention = spec.layers.reduce((sum, layer) => sum + 4 * layer.heads * spec.headDim, 0);
  return { parameters: countParams(spec).total, matmulParameters: matmul, flopsPerToken: 2 * matmul, attentionFlopsPerContextToken: attention };
}
