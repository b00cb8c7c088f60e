/**
 * Selection for a fixed target shape per layer (uniform or file allocation): each layer keeps its
 * highest-scored heads and neurons. Group mode ranks KV groups by the mean of their query heads;
 * query mode drops each group's lowest query heads. Ties: the higher index is pruned first.
 */
import type { ArchSpec, LayerShape } from '../arch/spec.js';
import { unitLayout, unitsInPruneOrder, unitsRemovedFor } from './attention-units.js';
import { planFromRemovals } from './layer-plan.js';
import { pruneOrder } from './order.js';
import { checkLayerScores, checkScores } from './scores.js';
import type { GqaMode, LayerPlan, LayerScores } from './types.js';

export function selectUniform(spec: ArchSpec, shapes: readonly LayerShape[], scores: readonly LayerScores[], gqa: GqaMode): LayerPlan[] {
  checkScores(spec, scores);
  if (shapes.length !== spec.numLayers) throw new Error(`target shapes for ${shapes.length} layers; the model has ${spec.numLayers}`);
  return spec.layers.map((_, i) => selectLayer(spec, i, shapes[i], scores[i], gqa));
}

/** One layer's selection for its target shape: it reads that layer's scores only. */
export function selectLayer(spec: ArchSpec, i: number, target: LayerShape, scores: LayerScores, gqa: GqaMode): LayerPlan {
  checkLayerScores(spec, i, scores);
  const shape = spec.layers[i];
  const layout = unitLayout(shape, gqa);
  const neurons = shape.intermediate - target.intermediate;
  if (neurons < 0) throw new Error(`layer ${i}: target ${target.intermediate} neurons exceeds ${shape.intermediate}`);
  return planFromRemovals(shape, {
    layout,
    unitOrder: unitsInPruneOrder(scores.heads, layout),
    units: unitsRemovedFor(shape, layout, target),
    neuronOrder: pruneOrder(scores.neurons),
    neurons,
  });
}
