/**
 * The exact parameters one structure takes with it, read from the layer's logical weight shapes
 * (so biases, Phi's plain MLP and Phi-3's fused tensors need no special case).
 */
import type { ArchSpec, LayerWeightName } from '../arch/spec.js';
import type { UnitLayout } from './attention-units.js';

export interface StructureCosts {
  /** q rows (+ q bias) and o columns of one query head. */
  queryHead: number;
  /** k and v rows (+ biases) of one KV head. */
  kvHead: number;
  /** gate and up rows (+ biases) and the down column of one neuron. */
  neuron: number;
}

/** Weights sliced per query head / per KV head / per neuron; o and down biases stay whole. */
const PER_QUERY_HEAD: readonly LayerWeightName[] = ['q.weight', 'q.bias', 'o.weight'];
const PER_KV_HEAD: readonly LayerWeightName[] = ['k.weight', 'k.bias', 'v.weight', 'v.bias'];
const PER_NEURON: readonly LayerWeightName[] = ['gate.weight', 'gate.bias', 'up.weight', 'up.bias', 'down.weight'];

export function structureCosts(spec: ArchSpec, layer: number): StructureCosts {
  const { heads, kvHeads, intermediate } = spec.layers[layer];
  const costs: StructureCosts = { queryHead: 0, kvHead: 0, neuron: 0 };
  for (const w of spec.layerWeights(layer)) {
    const numel = w.shape.reduce((a, b) => a * b, 1);
    if (PER_QUERY_HEAD.includes(w.name)) costs.queryHead += numel / heads;
    else if (PER_KV_HEAD.includes(w.name)) costs.kvHead += numel / kvHeads;
    else if (PER_NEURON.includes(w.name)) costs.neuron += numel / intermediate;
  }
  return costs;
}

/** Parameters removed with one attention unit of the layout. */
export function unitCost(costs: StructureCosts, layout: UnitLayout): number {
  const queryHeads = layout.headsPerUnit * costs.queryHead;
  return layout.mode === 'group' ? queryHeads + costs.kvHead : queryHeads;
}
