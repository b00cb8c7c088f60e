/** One entry point per question the CLI asks: target widths (for --dry-run), and the plan itself. */
import type { ArchSpec, LayerShape } from '../arch/spec.js';
import { UserError } from '../errors.js';
import { fileShapes } from './allocation-file.js';
import { selectGlobal } from './global.js';
import { selectLayer, selectUniform } from './select.js';
import type { LayerPlan, LayerScores, PlanOptions } from './types.js';
import { uniformShapes } from './uniform.js';

/** Target widths from the config alone; global allocation depends on scores, so it has none. */
export function targetShapes(spec: ArchSpec, opts: PlanOptions): LayerShape[] {
  const a = opts.allocation;
  switch (a.kind) {
    case 'uniform':
      return uniformShapes(spec, opts);
    case 'file':
      return fileShapes(spec, a, opts.gqa, opts.skipLayers);
    case 'global':
      throw new UserError('global allocation ranks the scores, so its layer widths are known only after scoring (no --dry-run)');
  }
}

export function planLayers(spec: ArchSpec, scores: readonly LayerScores[], opts: PlanOptions): LayerPlan[] {
  if (opts.allocation.kind === 'global') return selectGlobal(spec, scores, opts);
  return selectUniform(spec, targetShapes(spec, opts), scores, opts.gqa);
}

/**
 * Planning one layer at a time, as its scores arrive (scoring on the propagated inputs): uniform
 * and per-layer-file allocations fix every layer's width from the config, so each layer's plan
 * needs only its own scores and equals planLayers'; global allocation ranks all layers' scores
 * together, so it cannot.
 */
export function layerPlanner(spec: ArchSpec, opts: PlanOptions): (layer: number, scores: LayerScores) => LayerPlan {
  if (opts.allocation.kind === 'global') throw new UserError('global allocation ranks every layer\'s scores together, so it cannot plan layer by layer (use uniform or a per-layer file)');
  const shapes = targetShapes(spec, opts);
  return (layer, scores) => selectLayer(spec, layer, shapes[layer], scores, opts.gqa);
}
