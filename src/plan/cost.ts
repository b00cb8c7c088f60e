/**
 * The exact parameters one structure takes with it, read from the family's ownership table
 * (so biases, Phi's plain MLP and Phi-3's fused tensors need no special case).
 */
import { structureCount } from '../arch/ownership.js';
import type { ArchSpec, Structure } from '../arch/spec.js';
import type { UnitLayout } from './attention-units.js';

export interface StructureCosts {
  /** q rows (+ q bias) and o columns of one query head. */
  queryHead: number;
  /** k and v rows (+ biases) of one KV head. */
  kvHead: number;
  /** gate and up rows (+ biases) and the down column of one neuron. */
  neuron: number;
}

const COST_OF: Record<Structure, keyof StructureCosts> = { head: 'queryHead', kvHead: 'kvHead', neuron: 'neuron' };

export function structureCosts(spec: ArchSpec, layer: number): StructureCosts {
  const shape = spec.layers[layer];
  const costs: StructureCosts = { queryHead: 0, kvHead: 0, neuron: 0 };
  for (const w of spec.layerWeights(layer)) {
    if (!w.owner) continue; // stays whole (norms, o and down biases)
    const numel = w.shape.reduce((a, b) => a * b, 1);
    costs[COST_OF[w.owner.structure]] += numel / structureCount(shape, w.owner.structure);
  }
  return costs;
}

/** Parameters removed with one attention unit of the layout. */
export function unitCost(costs: StructureCosts, layout: UnitLayout): number {
  const queryHeads = layout.headsPerUnit * costs.queryHead;
  return layout.mode === 'group' ? queryHeads + costs.kvHead : queryHeads;
}
