/** Parameter accounting by component, from shapes alone (no weights needed). */
import type { ArchSpec, GlobalWeightName, LayerWeightName } from './spec.js';

export interface ParamCounts {
  embeddings: number;
  attention: number;
  mlp: number;
  norms: number;
  lmHead: number;
  total: number;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

type Component = 'attention' | 'mlp' | 'norms';

function componentOf(name: LayerWeightName): Component {
  if (name.startsWith('q_norm') || name.startsWith('k_norm') || name.includes('_norm.')) return 'norms';
  if (/^[qkvo]\./.test(name)) return 'attention';
  return 'mlp';
}

function globalComponent(name: GlobalWeightName): keyof ParamCounts {
  if (name === 'embed.weight') return 'embeddings';
  if (name.startsWith('final_norm')) return 'norms';
  return 'lmHead';
}

/** Per-layer attention and MLP parameters (biases included, norms excluded) — AMP's P_attn, P_mlp. */
export function layerParams(spec: ArchSpec, layer: number): { attention: number; mlp: number; norms: number } {
  const out = { attention: 0, mlp: 0, norms: 0 };
  for (const w of spec.layerWeights(layer)) out[componentOf(w.name)] += numel(w.shape);
  return out;
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
