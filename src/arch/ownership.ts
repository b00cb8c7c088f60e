/**
 * Reading a family's ownership table: how many structures of each kind a layer has, how many
 * parameters a weight keeps after a plan, and a self-check that every weight whose shape follows
 * the layer widths says which structure owns which rows or columns (a per-head tensor declared
 * without an owner would otherwise be counted at its new size but sliced as if whole).
 */
import type { ArchSpec, LayerShape, LayerWeight, Structure } from './spec.js';

/** Structures of a kind in a layer of this shape. */
export function structureCount(shape: LayerShape, structure: Structure): number {
  return structure === 'head' ? shape.heads : structure === 'kvHead' ? shape.kvHeads : shape.intermediate;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Index of the owned axis in the weight's shape. */
export function ownedAxis(w: LayerWeight): number {
  return w.owner?.axis === 'cols' ? 1 : 0;
}

/** Elements of `w` (a weight of a layer shaped `from`) left when that layer is cut to `to`. */
export function keptElements(w: LayerWeight, from: LayerShape, to: LayerShape): number {
  if (!w.owner) return numel(w.shape);
  const perStructure = numel(w.shape) / structureCount(from, w.owner.structure);
  return perStructure * structureCount(to, w.owner.structure);
}

/**
 * Throw (a programming error in a family file) unless, for layer `layer`, every owned weight's
 * owned axis is exactly block × count and every other dimension of every weight ignores the widths.
 */
export function checkOwnership(spec: ArchSpec, layer = 0): void {
  const shape = spec.layers[layer];
  // distinct increments, so a weight that follows heads cannot pass as following KV heads
  const grown: LayerShape = { heads: shape.heads + 2, kvHeads: shape.kvHeads + 1, intermediate: shape.intermediate + 3 };
  const other = spec.withLayers(spec.layers.map((l, i) => (i === layer ? grown : l)));
  const grownWeights = new Map(other.layerWeights(layer).map((w) => [w.name, w]));
  for (const w of spec.layerWeights(layer)) {
    const g = grownWeights.get(w.name);
    if (!g || g.shape.length !== w.shape.length) throw new Error(`${spec.family}: ${w.name} changes rank or disappears with the layer widths`);
    for (let axis = 0; axis < w.shape.length; axis++) {
      const owned = w.owner !== undefined && axis === ownedAxis(w);
      const ok = owned
        ? w.shape[axis] === w.owner!.block * structureCount(shape, w.owner!.structure) && g.shape[axis] === w.owner!.block * structureCount(grown, w.owner!.structure)
        : g.shape[axis] === w.shape[axis];
      if (!ok) {
        const what = owned ? `is not ${w.owner!.block} per ${w.owner!.structure}` : 'follows the layer widths but no structure owns it';
        throw new Error(`${spec.family}: dimension ${axis} of ${w.name} ${what} (the family's weight table is wrong)`);
      }
    }
  }
}
