/**
 * The removable pieces of a layer's attention under a GQA mode. Query head n belongs to KV group
 * floor(n / groupSize) (transformers' repeat_kv layout).
 *
 * - group mode: a unit is one KV group (its query heads and its K/V head); units = H_kv.
 * - query mode: a unit is one query head from EVERY group (a "slice": the j-th lowest head of each
 *   group), so every group loses the same number; units = groupSize, KV heads all stay.
 * Multi-head attention (groupSize 1) is always group mode: a query head cannot leave without its
 * K/V head there, and that is exactly the paper's head removal.
 */
import type { LayerShape } from '../arch/spec.js';
import { mean, pruneOrder } from './order.js';
import type { GqaMode } from './types.js';

export interface UnitLayout {
  /** The mode actually applied (query mode on multi-head attention becomes group mode). */
  mode: GqaMode;
  /** Removable units in the layer. */
  count: number;
  /** Query heads each unit takes with it. */
  headsPerUnit: number;
  groupSize: number;
}

export interface AttentionUnit {
  /** Mean score of the unit's query heads. */
  score: number;
  /** The query heads it removes. */
  heads: number[];
  /** The KV head it removes (group mode only). */
  kvHead?: number;
}

export function unitLayout(shape: LayerShape, requested: GqaMode): UnitLayout {
  const groupSize = shape.heads / shape.kvHeads;
  const mode = groupSize === 1 ? 'group' : requested;
  return mode === 'group'
    ? { mode, count: shape.kvHeads, headsPerUnit: groupSize, groupSize }
    : { mode, count: groupSize, headsPerUnit: shape.kvHeads, groupSize };
}

/** The layer's shape once `removed` units are gone. */
export function shapeWithout(shape: LayerShape, layout: UnitLayout, removed: number): LayerShape {
  return {
    heads: shape.heads - removed * layout.headsPerUnit,
    kvHeads: layout.mode === 'group' ? shape.kvHeads - removed : shape.kvHeads,
    intermediate: shape.intermediate,
  };
}

/** How many units a target shape removes; throws (a bug) when the target breaks the mode's rule. */
export function unitsRemovedFor(shape: LayerShape, layout: UnitLayout, target: LayerShape): number {
  const removed = (shape.heads - target.heads) / layout.headsPerUnit;
  const expected = Number.isInteger(removed) && removed >= 0 ? shapeWithout(shape, layout, removed) : undefined;
  if (!expected || expected.heads !== target.heads || expected.kvHeads !== target.kvHeads) {
    throw new Error(`target ${target.heads} heads / ${target.kvHeads} KV heads is not reachable from ${shape.heads}/${shape.kvHeads} in ${layout.mode} mode`);
  }
  return removed;
}

/** The units in the order they are pruned (lowest mean score first; ties: higher index first). */
export function unitsInPruneOrder(headScores: ArrayLike<number>, layout: UnitLayout): AttentionUnit[] {
  const { groupSize } = layout;
  const groups = Array.from({ length: headScores.length / groupSize }, (_, g) =>
    Array.from({ length: groupSize }, (_, j) => g * groupSize + j),
  );
  if (layout.mode === 'group') {
    const groupScores = groups.map((heads) => mean(heads.map((h) => headScores[h])));
    return pruneOrder(groupScores).map((g) => ({ score: groupScores[g], heads: groups[g], kvHead: g }));
  }
  // Slice j holds the j-th head to prune of every group; slice means never decrease with j.
  const orders = groups.map((heads) => pruneOrder(heads.map((h) => headScores[h])).map((j) => heads[j]));
  return Array.from({ length: groupSize }, (_, j) => {
    const heads = orders.map((order) => order[j]).sort((a, b) => a - b);
    return { score: mean(heads.map((h) => headScores[h])), heads };
  });
}
