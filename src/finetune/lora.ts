/**
 * LoRA adapters on a model's projections (peft's layout): y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ with
 * A [r, in], B [out, r], s = α/r. Targets are named by logical projection (q, k, v, o, gate, up,
 * down); the checkpoint module each one adapts comes from the family's ArchSpec, so nothing here
 * knows a family. Where the ArchSpec stores several projections as row ranges of one tensor, that
 * tensor's module is adapted whole.
 */
import type { ArchSpec, LayerWeightName } from '../arch/spec.js';
import { mulberry32 } from '../calib/prng.js';
import { UsageError, UserError } from '../errors.js';

export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraConfig {
  rank: number;
  alpha: number;
  targets: readonly LoraTarget[];
  /** peft's lora_dropout: during training the adapter branch reads dropout(x); the merge ignores it. */
  dropout?: number;
}

export const loraScale = (c: LoraConfig): number => c.alpha / c.rank;

/** A logical weight an adapter covers, and its rows in the adapted module's output. */
export interface LoraPart {
  weight: LayerWeightName;
  /** [begin, end) rows of the module's output (of B's rows). */
  rows: [number, number];
}

/**
 * Where an adapter sits and its shapes: one projection, or a fused module whose output rows are
 * several logical weights (Phi-3's qkv_proj = q, k, v). peft adapts a fused nn.Linear as a whole,
 * so such a module gets one A [r, in] and one B [out, r] whose row blocks are its parts' adapters.
 */
export interface AdapterLayout {
  /** The logical weights of the module, in row order; their rows tile [0, outFeatures). */
  parts: LoraPart[];
  inFeatures: number;
  outFeatures: number;
}

/** One adapted module. */
export interface LoraAdapter extends AdapterLayout {
  /** Checkpoint module path, e.g. model.layers.3.self_attn.q_proj (peft's key prefix). */
  module: string;
  /** [r, in] and [out, r], row-major. */
  a: Float32Array;
  b: Float32Array;
}

/** A name for the adapter inside one layer's graphs: its parts, e.g. `q` or `q+k+v`. */
export const adapterId = (layout: AdapterLayout): string => layout.parts.map((p) => p.weight.replace(/\.weight$/, '')).join('+');

/** Every adapter of a model, per layer, in target order. */
export interface LoraState {
  config: LoraConfig;
  layers: LoraAdapter[][];
}

export function parseTargets(value: string): LoraTarget[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(LORA_TARGETS as readonly string[]).includes(n)) throw new UsageError(`--targets: unknown projection '${n}' (choose from ${LORA_TARGETS.join(',')})`);
  }
  if (names.length === 0) throw new UsageError('--targets: name at least one projection');
  return [...new Set(names)] as LoraTarget[];
}

/**
 * The adapted modules of layer `i`: the checkpoint tensors holding `targets` that the family has,
 * in the order their first target is named. A tensor whose rows fuse several projections (the
 * ArchSpec gives them row ranges of one tensor) is adapted whole, as peft does, so its targets come
 * all or none: adapting only some parts would need a partial adapter peft cannot load.
 */
export function adaptedModules(spec: ArchSpec, layer: number, targets: readonly LoraTarget[]): (AdapterLayout & { module: string })[] {
  const weights = spec.layerWeights(layer);
  const byName = new Map(weights.map((w) => [w.name, w]));
  const named = new Set<string>(targets.map((t) => `${t}.weight`));
  const seen = new Set<string>();
  const out = [];
  for (const t of targets) {
    const w = byName.get(`${t}.weight` as LayerWeightName);
    if (!w || seen.has(w.source.tensor)) continue;
    seen.add(w.source.tensor);
    const group = weights.filter((x) => x.source.tensor === w.source.tensor).sort((x, y) => (x.source.rows?.[0] ?? 0) - (y.source.rows?.[0] ?? 0));
    const module = w.source.tensor.replace(/\.weight$/, '');
    const left = group.filter((x) => !named.has(x.name));
    if (left.length > 0) {
      const names = group.map((x) => x.name.replace(/\.weight$/, '')).join(',');
      throw new UserError(`--targets: ${spec.architecture} fuses ${names} into one tensor, ${module.split('.').pop()}, which LoRA adapts whole (as peft does): name all of ${names} or none`);
    }
    let rows = 0;
    const parts = group.map((x) => {
      const [begin, end] = x.source.rows ?? [0, x.shape[0]];
      if (begin !== rows || end - begin !== x.shape[0]) throw new Error(`${module}: the rows of ${x.name} do not follow the fused tensor's previous part`);
      rows = end;
      return { weight: x.name, rows: [begin, end] as [number, number] };
    });
    out.push({ module, parts, inFeatures: w.shape[1], outFeatures: rows });
  }
  return out;
}

/** Refuses `targets` that split a fused tensor of `spec` (adaptedModules' one-line error), before any work. */
export function checkTargets(spec: ArchSpec, targets: readonly LoraTarget[]): void {
  for (let i = 0; i < spec.numLayers; i++) adaptedModules(spec, i, targets);
}

/**
 * peft's default initialisation: A ~ kaiming_uniform(a=√5), i.e. U(−1/√in, 1/√in); B = 0, so the
 * adapted model starts equal to the base. Seeded, in layer then target order.
 */
export function initLora(spec: ArchSpec, config: LoraConfig, seed: number): LoraState {
  const random = mulberry32(seed);
  const layers = spec.layers.map((_, i) =>
    adaptedModules(spec, i, config.targets).map((layout) => {
      const bound = 1 / Math.sqrt(layout.inFeatures);
      const a = Float32Array.from({ length: config.rank * layout.inFeatures }, () => (2 * random() - 1) * bound);
      return { ...layout, a, b: new Float32Array(layout.outFeatures * config.rank) };
    }),
  );
  return { config, layers };
}

/** The rows of B that adapt `part`: B's rows are contiguous in row-major order, so a view. */
export const partB = (adapter: LoraAdapter, part: LoraPart, rank: number): Float32Array => adapter.b.subarray(part.rows[0] * rank, part.rows[1] * rank);

/** W + s·B·A (B: `b` [out, r], A [r, in]), a new array ([out, in] row-major), accumulated in float64. */
export function mergeAdapter(base: Float32Array, a: Float32Array, b: Float32Array, scale: number, rank: number): Float32Array {
  const m = b.length / rank;
  const n = a.length / rank;
  const out = Float32Array.from(base);
  const row = new Float64Array(n);
  for (let o = 0; o < m; o++) {
    row.fill(0);
    for (let k = 0; k < rank; k++) {
      const coef = b[o * rank + k];
      if (coef === 0) continue;
      const aRow = k * n;
      for (let i = 0; i < n; i++) row[i] += coef * a[aRow + i];
    }
    const w = o * n;
    for (let i = 0; i < n; i++) out[w + i] += scale * row[i];
  }
  return out;
}

/** A layer's weights with its adapters merged in, part by part (unadapted weights shared, not copied). */
export function mergedLayerWeights(base: Map<LayerWeightName, Float32Array>, adapters: readonly LoraAdapter[], config: LoraConfig): Map<LayerWeightName, Float32Array> {
  const out = new Map(base);
  for (const ad of adapters) {
    for (const part of ad.parts) out.set(part.weight, mergeAdapter(base.get(part.weight)!, ad.a, partB(ad, part, config.rank), loraScale(config), config.rank));
  }
  return out;
}
