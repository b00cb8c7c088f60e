/**
 * Global (non-uniform) allocation: scores standardised per layer (z-scores, attention units and
 * neurons separately, as FLAP does), then every structure of every pruned layer ranked together;
 * the lowest go until the parameters removed reach f · P_total. Each layer keeps at least one
 * attention unit and one neuron; `align` is applied per layer afterwards, so it can move the
 * achieved ratio by up to align/2 neurons per layer.
 *
 * Order among equal z-scores: the higher layer first, then neurons before attention units (the
 * finer step), then each layer's own prune order (which already prunes the higher index first).
 */
import { countParams } from '../arch/params.js';
import type { ArchSpec } from '../arch/spec.js';
import { UserError } from '../errors.js';
import { unitLayout, unitsInPruneOrder } from './attention-units.js';
import type { AttentionUnit, UnitLayout } from './attention-units.js';
import { structureCosts, unitCost } from './cost.js';
import { fullPlan, planFromRemovals } from './layer-plan.js';
import { pruneOrder, zScores } from './order.js';
import { alignKept } from './rounding.js';
import { checkScores } from './scores.js';
import type { LayerPlan, LayerScores, RatioOptions } from './types.js';
import { validatePlanOptions } from './validate.js';

type Kind = 'neuron' | 'unit';
const KIND_ORDER: Record<Kind, number> = { neuron: 0, unit: 1 };

/** One removable structure in the global ranking. */
interface Candidate {
  layer: number;
  kind: Kind;
  /** Position in its layer's prune order for its kind. */
  rank: number;
  z: number;
  cost: number;
}

interface LayerState {
  layout: UnitLayout;
  unitOrder: AttentionUnit[];
  neuronOrder: number[];
  units: number;
  neurons: number;
}

/** Units in prune order with standardised scores: group scores in group mode, head scores in query mode. */
function standardisedUnits(headScores: Float64Array, layout: UnitLayout): AttentionUnit[] {
  if (layout.mode === 'query') return unitsInPruneOrder(zScores(headScores), layout);
  const units = unitsInPruneOrder(headScores, layout);
  const z = zScores(units.map((u) => u.score));
  return units.map((u, i) => ({ ...u, score: z[i] }));
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return a.z - b.z || b.layer - a.layer || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.rank - b.rank;
}

export function selectGlobal(spec: ArchSpec, scores: readonly LayerScores[], opts: RatioOptions): LayerPlan[] {
  const layers = validatePlanOptions(spec, opts);
  checkScores(spec, scores);

  const states = new Map<number, LayerState>();
  const candidates: Candidate[] = [];
  for (const layer of layers) {
    const layout = unitLayout(spec.layers[layer], opts.gqa);
    const costs = structureCosts(spec, layer);
    const unitOrder = standardisedUnits(scores[layer].heads, layout);
    const neuronOrder = pruneOrder(scores[layer].neurons);
    const neuronZ = zScores(scores[layer].neurons);
    states.set(layer, { layout, unitOrder, neuronOrder, units: 0, neurons: 0 });
    unitOrder.forEach((u, rank) => candidates.push({ layer, kind: 'unit', rank, z: u.score, cost: unitCost(costs, layout) }));
    neuronOrder.forEach((n, rank) => candidates.push({ layer, kind: 'neuron', rank, z: neuronZ[n], cost: costs.neuron }));
  }
  candidates.sort(compareCandidates);

  const total = countParams(spec).total;
  const budget = opts.ratio * total;
  let removed = 0;
  for (const c of candidates) {
    if (removed >= budget) break;
    const state = states.get(c.layer)!;
    const done = c.kind === 'unit' ? state.units : state.neurons;
    // z never decreases along a layer's prune order, so the sort keeps each layer's order.
    if (c.rank < done) throw new Error(`global ranking out of order at layer ${c.layer}`);
    const available = c.kind === 'unit' ? state.layout.count : spec.layers[c.layer].intermediate;
    if (done + 1 >= available) continue; // the layer's last unit or neuron stays
    if (c.kind === 'unit') state.units++;
    else state.neurons++;
    removed += c.cost;
  }
  if (removed < budget) {
    throw new UserError(
      `--ratio ${opts.ratio} cannot be reached by global allocation: keeping one attention head group and one neuron per layer, ` +
        `it removes at most ${((removed / total) * 100).toFixed(1)}% of the parameters`,
    );
  }

  return spec.layers.map((shape, layer) => {
    const state = states.get(layer);
    if (!state) return fullPlan(shape);
    const kept = alignKept(shape.intermediate - state.neurons, shape.intermediate, opts.align);
    return planFromRemovals(shape, { ...state, neurons: shape.intermediate - kept });
  });
}
