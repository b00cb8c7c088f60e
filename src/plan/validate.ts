/** Checks of the user's planning flags; each failure is a one-line UserError naming the flag. */
import type { ArchSpec } from '../arch/spec.js';
import { UsageError, UserError } from '../errors.js';

export function validateRatio(ratio: number): void {
  if (!Number.isFinite(ratio) || ratio <= 0 || ratio >= 1) {
    throw new UsageError(`--ratio must be between 0 and 1 (exclusive), got ${ratio}`);
  }
}

export function validateAlign(align: number): void {
  if (!Number.isInteger(align) || align < 1) throw new UsageError(`--align must be a positive integer, got ${align}`);
}

export function validateSkipLayers(skipLayers: readonly number[], numLayers: number): void {
  for (const layer of skipLayers) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers) {
      throw new UserError(`--skip-layers: layer ${layer} does not exist (the model has ${numLayers} layers, 0-${numLayers - 1})`);
    }
  }
}

/** The layers a ratio-driven allocation prunes: all but the skipped ones, and at least one. */
export function prunedLayers(spec: ArchSpec, skipLayers: readonly number[]): number[] {
  validateSkipLayers(skipLayers, spec.numLayers);
  const skipped = new Set(skipLayers);
  const layers = Array.from({ length: spec.numLayers }, (_, i) => i).filter((i) => !skipped.has(i));
  if (layers.length === 0) throw new UserError(`--skip-layers skips all ${spec.numLayers} layers; nothing is left to prune`);
  return layers;
}

/**
 * Every check of the ratio-driven planning flags, in one call: the prune command runs it before
 * any weight is read, and the allocations run it again for library callers. Returns the layers
 * to prune.
 */
export function validatePlanOptions(spec: ArchSpec, opts: { ratio: number; align: number; skipLayers: readonly number[] }): number[] {
  validateRatio(opts.ratio);
  validateAlign(opts.align);
  return prunedLayers(spec, opts.skipLayers);
}
