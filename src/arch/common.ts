/**
 * What the LLaMA-like families share: head layout and per-layer widths read from a config, and
 * logical weight lists built from a per-family name table. Family files state only differences.
 */
import type { ConfigReader } from './config.js';
import type { Activation, Component, GlobalWeight, LayerShape, LayerWeight, LayerWeightName, Ownership } from './spec.js';

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

/** Config key amp-prune writes for per-layer widths (non-uniform pruning); stock loaders ignore it. */
export const LAYER_WIDTHS_KEY = 'amp_prune_layer_widths';

/**
 * Per-layer widths: uniform from the stock fields, or the list amp-prune wrote for a
 * non-uniformly pruned model ({num_attention_heads, num_key_value_heads, intermediate_size} each).
 */
export function uniformLayers(l: HeadLayout, c?: ConfigReader): LayerShape[] {
  const listed = c?.json[LAYER_WIDTHS_KEY];
  if (c && listed !== undefined && listed !== null) {
    if (!Array.isArray(listed) || listed.length !== l.numLayers) return c.fail(`${LAYER_WIDTHS_KEY} must list ${l.numLayers} layers`);
    return (listed as unknown[]).map((entry: unknown, i: number) => {
      const e = (entry ?? {}) as Record<string, unknown>;
      const get = (k: string) => {
        const v = e[k];
        if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) c.fail(`${LAYER_WIDTHS_KEY}[${i}].${k} must be a positive integer`);
        return v as number;
      };
      const shape = { heads: get('num_attention_heads'), kvHeads: get('num_key_value_heads'), intermediate: get('intermediate_size') };
      if (shape.heads % shape.kvHeads !== 0) c.fail(`${LAYER_WIDTHS_KEY}[${i}]: heads must be a multiple of KV heads`);
      return shape;
    });
  }
  return Array.from({ length: l.numLayers }, () => ({ heads: l.heads, kvHeads: l.kvHeads, intermediate: l.intermediate }));
}

export function isUniform(layers: readonly LayerShape[]): boolean {
  const f = layers[0];
  return layers.every((l) => l.heads === f.heads && l.kvHeads === f.kvHeads && l.intermediate === f.intermediate);
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

/**
 * One row of a family's weight table: logical name -> tensor suffix (under the layer prefix),
 * shape, the component it is counted under, and which structure owns which rows or columns.
 */
export interface WeightRow {
  name: LayerWeightName;
  tensor: string;
  shape: number[];
  rows?: [number, number];
  part: Component;
  owner?: Ownership;
}

/** Ownership shorthands for the family tables: `headDim` rows or columns per head, one per neuron. */
export const headRows = (headDim: number): Ownership => ({ structure: 'head', axis: 'rows', block: headDim });
export const headCols = (headDim: number): Ownership => ({ structure: 'head', axis: 'cols', block: headDim });
export const kvHeadRows = (headDim: number): Ownership => ({ structure: 'kvHead', axis: 'rows', block: headDim });
export const NEURON_ROWS: Ownership = { structure: 'neuron', axis: 'rows', block: 1 };
export const NEURON_COLS: Ownership = { structure: 'neuron', axis: 'cols', block: 1 };

export function layerWeightsFrom(prefix: string, rows: WeightRow[]): LayerWeight[] {
  return rows.map((r) => ({
    name: r.name,
    shape: r.shape,
    source: { tensor: `${prefix}.${r.tensor}`, rows: r.rows },
    component: r.part,
    ...(r.owner ? { owner: r.owner } : {}),
  }));
}

/**
 * A config with new widths. Uniform widths use the stock fields only, so stock loaders work;
 * per-layer widths also go under LAYER_WIDTHS_KEY, with the stock fields at the widest layer
 * (a stock loader then fails loudly on tensor shapes instead of mis-loading).
 */
export function prunedConfig(json: Record<string, unknown>, layers: LayerShape[], headDim: number): Record<string, unknown> {
  const { [LAYER_WIDTHS_KEY]: _previous, ...rest } = json;
  const widest = (f: (l: LayerShape) => number) => Math.max(...layers.map(f));
  const out: Record<string, unknown> = {
    ...rest,
    num_attention_heads: widest((l) => l.heads),
    num_key_value_heads: widest((l) => l.kvHeads),
    intermediate_size: widest((l) => l.intermediate),
    head_dim: headDim,
  };
  if (!isUniform(layers)) {
    out[LAYER_WIDTHS_KEY] = layers.map((l) => ({ num_attention_heads: l.heads, num_key_value_heads: l.kvHeads, intermediate_size: l.intermediate }));
  }
  return out;
}

/** Embeddings, `model.norm` and (untied) `lm_head`: the globals of every RMSNorm family (LLaMA, Phi-3). */
export function rmsNormModelGlobals(vocab: number, hidden: number, tied: boolean): GlobalWeight[] {
  const g: GlobalWeight[] = [
    { name: 'embed.weight', shape: [vocab, hidden], source: { tensor: 'model.embed_tokens.weight' } },
    { name: 'final_norm.weight', shape: [hidden], source: { tensor: 'model.norm.weight' } },
  ];
  if (!tied) g.push({ name: 'lm_head.weight', shape: [vocab, hidden], source: { tensor: 'lm_head.weight' } });
  return g;
}
