/**
 * What the LLaMA-like families share: head layout and per-layer widths read from a config, and
 * logical weight lists built from a per-family name table. Family files state only differences.
 */
import type { ConfigReader } from './config.js';
import type { Activation, LayerShape, LayerWeight, LayerWeightName } from './spec.js';

export const ACTIVATIONS: readonly Activation[] = ['silu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'relu'];

export interface HeadLayout {
  hidden: number;
  numLayers: number;
  vocab: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
}

export function readHeadLayout(c: ConfigReader): HeadLayout {
  const hidden = c.positiveInt('hidden_size');
  const heads = c.positiveInt('num_attention_heads');
  const kvHeads = c.positiveInt('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) c.fail(`num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads})`);
  const headDim = c.has('head_dim') ? c.positiveInt('head_dim') : hidden / heads;
  if (!Number.isInteger(headDim)) c.fail(`hidden_size (${hidden}) is not divisible by num_attention_heads (${heads}) and no head_dim is given`);
  return {
    hidden,
    numLayers: c.positiveInt('num_hidden_layers'),
    vocab: c.positiveInt('vocab_size'),
    heads,
    kvHeads,
    headDim,
    intermediate: c.positiveInt('intermediate_size'),
  };
}

export function uniformLayers(l: HeadLayout): LayerShape[] {
  return Array.from({ length: l.numLayers }, () => ({ heads: l.heads, kvHeads: l.kvHeads, intermediate: l.intermediate }));
}

/**
 * Per-layer sliding windows: `layer_types` when the config lists them (transformers 5), else the
 * family's rule (`allLayers`: Mistral applies `sliding_window` everywhere).
 */
export function slidingWindows(c: ConfigReader, numLayers: number, allLayers: boolean): (number | undefined)[] {
  const window = c.has('sliding_window') ? c.positiveInt('sliding_window') : undefined;
  const types = c.json.layer_types;
  if (Array.isArray(types)) {
    if (types.length !== numLayers) c.fail(`layer_types has ${types.length} entries for ${numLayers} layers`);
    return types.map((t) => (t === 'sliding_attention' ? window ?? c.fail('layer_types asks for sliding_attention but sliding_window is not set') : undefined));
  }
  if (typeof c.json.use_sliding_window === 'boolean') {
    // Qwen2/3 before transformers 5: sliding only when enabled, and only from max_window_layers on.
    const from = c.has('max_window_layers') ? c.positiveInt('max_window_layers') : 0;
    return Array.from({ length: numLayers }, (_, i) => (c.json.use_sliding_window && i >= from ? window : undefined));
  }
  return Array.from({ length: numLayers }, () => (allLayers ? window : undefined));
}

/** One row of a family's weight table: logical name -> tensor suffix (under the layer prefix), shape. */
export interface WeightRow {
  name: LayerWeightName;
  tensor: string;
  shape: number[];
  rows?: [number, number];
}

export function layerWeightsFrom(prefix: string, rows: WeightRow[]): LayerWeight[] {
  return rows.map((r) => ({ name: r.name, shape: r.shape, source: { tensor: `${prefix}.${r.tensor}`, rows: r.rows } }));
}

/** Copy of a config with new widths; only valid for uniform shapes (stock loaders need one width). */
export function uniformConfig(json: Record<string, unknown>, layers: LayerShape[], headDim: number): Record<string, unknown> {
  const first = layers[0];
  const uniform = layers.every((l) => l.heads === first.heads && l.kvHeads === first.kvHeads && l.intermediate === first.intermediate);
  if (!uniform) throw new Error('configFor: non-uniform layer shapes cannot be expressed in a stock config');
  return {
    ...json,
    num_attention_heads: first.heads,
    num_key_value_heads: first.kvHeads,
    intermediate_size: first.intermediate,
    head_dim: headDim,
  };
}
