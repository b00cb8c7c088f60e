/** One entry point per question the CLI asks: target widths (for --dry-run), and the plan itself. */
import type { ArchSpec, LayerShape } from '../arch/spec.js';
import { UserError } from '../errors.js';
import { fileShapes } from './allocation-file.js';
import { selectGlobal } from './global.js';
import { selectUniform } from './select.js';
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
