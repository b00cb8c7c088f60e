/**
 * `--layers N` (the paper's `--iteration N`): a ratio expressed as "N layers' worth" of parameters.
 * Errors name `--layers`, the flag users type; `--iteration` exists only in the paper's code.
 */
import { countParams, layerParams } from '../arch/params.js';
import type { ArchSpec } from '../arch/spec.js';
import { UsageError, UserError } from '../errors.js';

/** f = N · P(layer 0) / P_total, where P(layer 0) counts layer 0's norms too (as the reference does). */
export function ratioForLayers(spec: ArchSpec, n: number): number {
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--layers must be a positive number of layers, got ${n}`);
  const first = layerParams(spec, 0);
  const ratio = (n * (first.attention + first.mlp + first.norms)) / countParams(spec).total;
  if (ratio >= 1) {
    throw new UserError(
      `--layers ${n} asks for ${(ratio * 100).toFixed(1)}% of the model's parameters (it has ${spec.numLayers} layers); it must stay below 100%`,
    );
  }
  return ratio;
}
