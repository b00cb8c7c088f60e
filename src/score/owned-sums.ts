/**
 * Reductions over what each structure owns, read from the family's ownership table (ArchSpec
 * LayerWeight.owner: which rows or columns of a weight belong to a query head, a KV head or a
 * neuron). Scorers sum over these instead of knowing each family's tensor layout, so a new
 * family's per-structure weight is scored as it is sliced. Weights are transformers' [out, in].
 */
import { structureCount } from '../arch/ownership.js';
import type { ArchSpec, LayerWeight, LayerWeightName, Ownership, Structure } from '../arch/spec.js';

export interface OwnedMatrix {
  weight: LayerWeight & { owner: Ownership };
  values: Float32Array;
}

/**
 * The layer's weight matrices a structure owns part of, with their values. Biases (1-D) are left
 * out: they are offsets, not weights that scale an input.
 */
export function ownedMatrices(spec: ArchSpec, layer: number, weights: ReadonlyMap<LayerWeightName, Float32Array>): OwnedMatrix[] {
  const owned: OwnedMatrix[] = [];
  for (const weight of spec.layerWeights(layer)) {
    if (!weight.owner || weight.shape.length !== 2) continue;
    const values = weights.get(weight.name);
    if (!values) throw new Error(`layer ${layer}: ${weight.name} was not loaded for scoring`);
    if (values.length !== weight.shape[0] * weight.shape[1]) throw new Error(`layer ${layer}: ${weight.name} has ${values.length} values, not [${weight.shape.join(', ')}]`);
    owned.push({ weight: weight as OwnedMatrix['weight'], values });
  }
  return owned;
}

/** Σ f(w) over each line (row or column) along the owned axis: one value per owned row or column. */
export function ownedLineSums({ weight, values }: OwnedMatrix, f: (x: number) => number): Float64Array {
  const [rows, cols] = weight.shape;
  const byRows = weight.owner.axis === 'rows';
  const out = new Float64Array(byRows ? rows : cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    if (byRows) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += f(values[base + c]);
      out[r] = s;
    } else {
      for (let c = 0; c < cols; c++) out[c] += f(values[base + c]);
    }
  }
  return out;
}

/** Per-line values summed per structure: block i of the owned axis belongs to structure i. */
export function perStructure(lines: Float64Array, owner: Ownership): Float64Array {
  const out = new Float64Array(lines.length / owner.block);
  lines.forEach((v, i) => (out[Math.floor(i / owner.block)] += v));
  return out;
}

/** One zeroed accumulator per structure kind, sized for the layer. */
export function structureTotals(spec: ArchSpec, layer: number): Record<Structure, Float64Array> {
  const shape = spec.layers[layer];
  const zeros = (s: Structure) => new Float64Array(structureCount(shape, s));
  return { head: zeros('head'), kvHead: zeros('kvHead'), neuron: zeros('neuron') };
}

/**
 * Σ over the input columns each structure owns (in the weights that read its output: o_proj,
 * down_proj) of f summed down the column times that input feature's weight: Wanda-SP's and FLAP's
 * shape. `featureWeight` gives one weight per input feature of a structure kind's columns.
 */
export function weightedColumnScores(
  spec: ArchSpec,
  layer: number,
  weights: ReadonlyMap<LayerWeightName, Float32Array>,
  f: (x: number) => number,
  featureWeight: (structure: Structure) => Float64Array,
): Record<Structure, Float64Array> {
  const totals = structureTotals(spec, layer);
  for (const m of ownedMatrices(spec, layer, weights)) {
    if (m.weight.owner.axis !== 'cols') continue;
    const features = featureWeight(m.weight.owner.structure);
    const columns = ownedLineSums(m, f);
    if (features.length !== columns.length) throw new Error(`layer ${layer}: ${m.weight.name} has ${columns.length} input columns but ${features.length} feature statistics`);
    addInto(totals[m.weight.owner.structure], perStructure(columns.map((c, j) => c * features[j]), m.weight.owner));
  }
  return totals;
}

export function addInto(target: Float64Array, values: Float64Array): void {
  values.forEach((v, i) => (target[i] += v));
}

export const abs = (x: number) => Math.abs(x);
export const square = (x: number) => x * x;
