/** Turning "remove the first k of these prune orders" into a LayerPlan of kept indices. */
import type { LayerShape } from '../arch/spec.js';
import type { AttentionUnit, UnitLayout } from './attention-units.js';
import type { LayerPlan } from './types.js';

/** The indices 0..size-1 not removed, ascending. */
function complement(size: number, removed: Iterable<number>): number[] {
  const gone = new Set(removed);
  return Array.from({ length: size }, (_, i) => i).filter((i) => !gone.has(i));
}

/** The dense layer, untouched. */
export function fullPlan(shape: LayerShape): LayerPlan {
  return { heads: complement(shape.heads, []), kvHeads: complement(shape.kvHeads, []), neurons: complement(shape.intermediate, []) };
}

export interface Removals {
  layout: UnitLayout;
  /** Attention units in prune order; the first `units` go. */
  unitOrder: AttentionUnit[];
  units: number;
  /** Neuron indices in prune order; the first `neurons` go. */
  neuronOrder: number[];
  neurons: number;
}

export function planFromRemovals(shape: LayerShape, r: Removals): LayerPlan {
  if (r.units >= r.layout.count || r.neurons >= shape.intermediate) {
    throw new Error('a layer plan must keep at least one attention unit and one neuron');
  }
  const goneUnits = r.unitOrder.slice(0, r.units);
  return {
    heads: complement(shape.heads, goneUnits.flatMap((u) => u.heads)),
    kvHeads: complement(shape.kvHeads, goneUnits.flatMap((u) => (u.kvHead === undefined ? [] : [u.kvHead]))),
    neurons: complement(shape.intermediate, r.neuronOrder.slice(0, r.neurons)),
  };
}
