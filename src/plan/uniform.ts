/**
 * The paper's uniform allocation (AMP-SPEC "Allocation in the paper"), extended to skipped layers,
 * GQA units and alignment. Needs only the config, so it also answers `--dry-run`.
 */
import { countParams, layerParams } from '../arch/params.js';
import type { ArchSpec, LayerShape } from '../arch/spec.js';
import { UserError } from '../errors.js';
import { shapeWithout, unitLayout } from './attention-units.js';
import type { UnitLayout } from './attention-units.js';
import { alignKept, roundHalfEven } from './rounding.js';
import type { GqaMode, RatioOptions } from './types.js';
import { validatePlanOptions } from './validate.js';

/** What the uniform rule removes from one pruned layer. */
export interface UniformRemoval {
  layer: number;
  layout: UnitLayout;
  /** Attention units (KV groups, or per-group query-head slices) removed. */
  units: number;
  /** MLP neurons removed, after alignment. */
  neurons: number;
}

/** The first layer where a fraction would remove a whole kind of structure. */
interface Overflow {
  layer: number;
  what: 'attention head' | 'MLP neuron';
  needs: number;
  of: number;
}

/** p = f · P_total / Σ over pruned layers (P_attn + P_mlp): skipped layers' share moves to the others. */
function perLayerFraction(spec: ArchSpec, layers: readonly number[], ratio: number): number {
  let prunable = 0;
  for (const i of layers) {
    const p = layerParams(spec, i);
    prunable += p.attention + p.mlp;
  }
  return (ratio * countParams(spec).total) / prunable;
}

function removalsAt(spec: ArchSpec, layers: readonly number[], p: number, gqa: GqaMode): UniformRemoval[] | Overflow {
  const removals: UniformRemoval[] = [];
  for (const layer of layers) {
    const shape = spec.layers[layer];
    const layout = unitLayout(shape, gqa);
    const units = roundHalfEven(p * layout.count);
    const headsRemoved = units * layout.headsPerUnit;
    if (units >= layout.count) return { layer, what: 'attention head', needs: headsRemoved, of: shape.heads };
    // The neuron count absorbs the rounding of the head count (the reference's k_m = round(I·p + H·p − k_h)).
    const neurons = Math.max(0, roundHalfEven(shape.intermediate * p + shape.heads * p - headsRemoved));
    if (neurons >= shape.intermediate) return { layer, what: 'MLP neuron', needs: neurons, of: shape.intermediate };
    removals.push({ layer, layout, units, neurons });
  }
  return removals;
}

const overflowed = (r: UniformRemoval[] | Overflow): r is Overflow => !Array.isArray(r);

/** The largest ratio the uniform rule accepts (bisection: its removals grow with the ratio, up to rounding). */
function maxUniformRatio(spec: ArchSpec, layers: readonly number[], gqa: GqaMode): number {
  let lo = 0;
  let hi = 1;
  for (let step = 0; step < 40; step++) {
    const mid = (lo + hi) / 2;
    if (overflowed(removalsAt(spec, layers, perLayerFraction(spec, layers, mid), gqa))) hi = mid;
    else lo = mid;
  }
  return lo;
}

const shortNumber = (x: number) => String(Number(x.toPrecision(4)));

function approxDown(x: number): string {
  return x >= 0.01 ? (Math.floor(x * 100) / 100).toFixed(2) : x.toPrecision(2);
}

/** Per pruned layer, the units and neurons the uniform rule removes (align applied). */
export function uniformRemovals(spec: ArchSpec, opts: RatioOptions): UniformRemoval[] {
  const layers = validatePlanOptions(spec, opts);
  const removals = removalsAt(spec, layers, perLayerFraction(spec, layers, opts.ratio), opts.gqa);
  if (overflowed(removals)) {
    // Capping silently would miss the asked ratio; say what the model can give instead.
    const max = maxUniformRatio(spec, layers, opts.gqa);
    const skipNote = layers.length < spec.numLayers ? ' with these --skip-layers' : '';
    throw new UserError(
      `--ratio ${shortNumber(opts.ratio)} would remove every ${removals.what} of layer ${removals.layer} ` +
        `(needs ${removals.needs} of ${removals.of}); the most this model allows${skipNote} is ~${approxDown(max)}`,
    );
  }
  return removals.map((r) => {
    const full = spec.layers[r.layer].intermediate;
    return { ...r, neurons: full - alignKept(full - r.neurons, full, opts.align) };
  });
}

/** Target shape of every layer under the uniform rule; skipped layers keep their shape. */
export function uniformShapes(spec: ArchSpec, opts: RatioOptions): LayerShape[] {
  const shapes = spec.layers.map((s) => ({ ...s }));
  for (const r of uniformRemovals(spec, opts)) {
    const shape = spec.layers[r.layer];
    shapes[r.layer] = { ...shapeWithout(shape, r.layout, r.units), intermediate: shape.intermediate - r.neurons };
  }
  return shapes;
}
