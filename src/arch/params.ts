/** Parameter accounting by component, from shapes alone (no weights needed). */
import { keptElements } from './ownership.js';
import type { ArchSpec, Component, GlobalWeightName, LayerShape } from './spec.js';

export interface ParamCounts {
  embeddings: number;
  attention: number;
  mlp: number;
  norms: number;
  lmHead: number;
  total: number;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function globalComponent(name: GlobalWeightName): keyof ParamCounts {
  if (name === 'embed.weight') return 'embeddings';
  if (name.startsWith('final_norm')) return 'norms';
  return 'lmHead';
}

/** Per-layer attention and MLP parameters (biases included, norms excluded) — AMP's P_attn, P_mlp. */
export function layerParams(spec: ArchSpec, layer: number): Record<Component, number> {
  const out = { attention: 0, mlp: 0, norms: 0 };
  for (const w of spec.layerWeights(layer)) out[w.component] += numel(w.shape);
  return out;
}

/**
 * Parameters left in the whole model when each layer is cut to `shapes`, from the ownership
 * table of the unpruned spec alone (what slicing will write, without building the pruned spec).
 */
export function paramsAfter(spec: ArchSpec, shapes: readonly LayerShape[]): number {
  let total = 0;
  for (const w of spec.globalWeights()) total += numel(w.shape);
  for (let i = 0; i < spec.numLayers; i++) {
    for (const w of spec.layerWeights(i)) total += keptElements(w, spec.layers[i], shapes[i]);
  }
  return total;
}

export function countParams(spec: ArchSpec): ParamCounts {
  const c: ParamCounts = { embeddings: 0, attention: 0, mlp: 0, norms: 0, lmHead: 0, total: 0 };
  for (const w of spec.globalWeights()) c[globalComponent(w.name)] += numel(w.shape);
  for (let i = 0; i < spec.numLayers; i++) {
    const p = layerParams(spec, i);
    c.attention += p.attention;
    c.mlp += p.mlp;
    c.norms += p.norms;
  }
  c.total = c.embeddings + c.attention + c.mlp + c.norms + c.lmHead;
  return c;
}
