/** Parameter accounting of a plan: the pruned spec, counts before and after, the achieved ratio. */
import { countParams } from '../arch/params.js';
import type { ParamCounts } from '../arch/params.js';
import type { ArchSpec, LayerShape } from '../arch/spec.js';
import { shapeOf } from './types.js';
import type { LayerPlan } from './types.js';

export interface PlanSummary {
  shapes: LayerShape[];
  /** The model after pruning (same config, new widths). */
  pruned: ArchSpec;
  before: ParamCounts;
  after: ParamCounts;
  /** 1 − after.total / before.total. */
  achievedRatio: number;
}

/** Accounting from target shapes alone (what `--dry-run` reports). */
export function shapesSummary(spec: ArchSpec, shapes: readonly LayerShape[]): PlanSummary {
  if (shapes.length !== spec.numLayers) throw new Error(`shapes for ${shapes.length} layers; the model has ${spec.numLayers}`);
  const pruned = spec.withLayers([...shapes]);
  const before = countParams(spec);
  const after = countParams(pruned);
  return { shapes: [...shapes], pruned, before, after, achievedRatio: 1 - after.total / before.total };
}

export function planSummary(spec: ArchSpec, plans: readonly LayerPlan[]): PlanSummary {
  return shapesSummary(spec, plans.map(shapeOf));
}
