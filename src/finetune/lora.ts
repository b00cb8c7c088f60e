/**
 * LoRA adapters on a model's projections (peft's layout): y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ with
 * A [r, in], B [out, r], s = α/r. Targets are named by logical projection (q, k, v, o, gate, up,
 * down); the checkpoint module each one adapts comes from the family's ArchSpec, so nothing here
 * knows a family.
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

/** One adapted projection. */
export interface LoraAdapter {
  weight: LayerWeightName;
  /** Checkpoint module path, e.g. model.layers.3.self_attn.q_proj (peft's key prefix). */
  module: string;
  inFeatures: number;
  outFeatures: number;
  /** [r, in] and [out, r], row-major. */
  a: Float32Array;
  b: Float32Array;
}

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
 * The adapted projections of layer `i`: those of `targets` the family has. A projection stored
 * as rows of a fused tensor (Phi-3's qkv_proj) is refused: peft adapts the fused module, not
 * its parts, so adapters on the parts could not be saved as a peft adapter.
 */
export function adaptedWeights(spec: ArchSpec, layer: number, targets: readonly LoraTarget[]): { weight: LayerWeightName; module: string; shape: number[] }[] {
  const byName = new Map(spec.layerWeights(layer).map((w) => [w.name, w]));
  const out = [];
  for (const t of targets) {
    const w = byName.get(`${t}.weight` as LayerWeightName);
    if (!w) continue;
    if (w.source.rows) throw new UserError(`finetune: ${spec.architecture} stores ${t} inside the fused tensor ${w.source.tensor}; LoRA on fused projections is not supported yet`);
    out.push({ weight: w.name, module: w.source.tensor.replace(/\.weight$/, ''), shape: w.shape });
  }
  return out;
}

/**
 * peft's default initialisation: A ~ kaiming_uniform(a=√5), i.e. U(−1/√in, 1/√in); B = 0, so the
 * adapted model starts equal to the base. Seeded, in layer then target order.
 */
export function initLora(spec: ArchSpec, config: LoraConfig, seed: number): LoraState {
  const random = mulberry32(seed);
  const layers = spec.layers.map((_, i) =>
    adaptedWeights(spec, i, config.targets).map(({ weight, module, shape: [outFeatures, inFeatures] }) => {
      const bound = 1 / Math.sqrt(inFeatures);
      const a = Float32Array.from({ length: config.rank * inFeatures }, () => (2 * random() - 1) * bound);
      return { weight, module, inFeatures, outFeatures, a, b: new Float32Array(outFeatures * config.rank) };
    }),
  );
  return { config, layers };
}

/** W + s·B·A, a new array ([out, in] row-major). */
export function mergeAdapter(base: Float32Array, adapter: LoraAdapter, scale: number, rank: number): Float32Array {
  const { inFeatures: n, outFeatures: m, a, b } = adapter;
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

/** A layer's weights with its adapters merged in (unadapted weights shared, not copied). */
export function mergedLayerWeights(base: Map<LayerWeightName, Float32Array>, adapters: readonly LoraAdapter[], config: LoraConfig): Map<LayerWeightName, Float32Array> {
  const out = new Map(base);
  for (const ad of adapters) out.set(ad.weight, mergeAdapter(base.get(ad.weight)!, ad, loraScale(config), config.rank));
  return out;
}
