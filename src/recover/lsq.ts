/**
 * Least-squares refit (the ZipLM / SlimGPT / OSSCAR family): choose the kept columns W_K' (and
 * the bias, where the output can store one) so the pruned projection reproduces the dense one on
 * the calibration inputs,
 *
 *   min ‖X_K W_K' − X W‖² + λ‖W_K' − W_K‖²   ⇒   W_K' = W_K + (G_KK + λI)⁻¹ G_KP W_P
 *
 * in math layout (W [in, out]); G = XᵀX over the fitting tokens, X extended by a ones column when
 * the bias is refit (it then counts as a kept input whose dense weight is the dense bias).
 * λ = damp · mean(diag G_KK) over the kept features.
 */
import { collectGarbage } from '../collect-garbage.js';
import { modelTargetRhs } from './cross.js';
import { extendedBlock, releaseGram } from './gram.js';
import { solveSpd, NotPositiveDefinite } from './cholesky.js';
import { carriedBias, keptColumns, removedColumns } from './slice-columns.js';
import type { ProjectionProblem, RecoveryMethod } from './types.js';

export class RecoveryFailure extends Error {}

/** Ridge λ for a problem: damp × the mean kept diagonal (damp alone when the inputs are all zero). */
export function ridge(p: ProjectionProblem): number {
  const F = p.inFeatures;
  let s = 0;
  for (const k of p.kept) s += p.fit.gram[k * F + k];
  const mean = p.kept.length > 0 ? s / p.kept.length : 0;
  return p.damp * (mean > 0 ? mean : 1);
}

export const lsq: RecoveryMethod = {
  name: 'lsq',
  description: 'damped least-squares refit of the kept o_proj / down_proj columns (+ bias) to the dense output',
  needsGram: true,
  rewrites: ['o.weight', 'o.bias', 'down.weight', 'down.bias'],
  repair: async (p, gemm) => {
    const F = p.inFeatures;
    const D = p.outFeatures;
    const removed = removedColumns(p);
    const weight = keptColumns(p);
    const bias = carriedBias(p);
    if ((removed.length === 0 && !p.target) || p.fit.totalWeight === 0) return { weight, bias };
    const refitBias = bias !== undefined && p.biasWritable;
    const kept = refitBias ? [...p.kept, F] : [...p.kept];
    const n = kept.length;

    const a = extendedBlock(p.fit, kept, kept);
    const lambda = ridge(p);
    for (let i = 0; i < n; i++) a[i * n + i] += lambda;
    // Rᵀ = G̃_K,P · W_Pᵀ  [n, out]: the kept inputs' correlation with what was removed
    let rhs: Float64Array;
    if (p.target) {
      rhs = await modelTargetRhs(p, p.target, kept, gemm); // refit to the dense model's activations (recover/cross.ts)
    } else {
      const wpT = new Float64Array(removed.length * D);
      removed.forEach((j, r) => {
        for (let o = 0; o < D; o++) wpT[r * D + o] = p.weight[o * F + j];
      });
      rhs = await gemm.matmul('float64', extendedBlock(p.fit, kept, removed), n, removed.length, wpT, D);
    }
    if (p.fitDisposable) {
      releaseGram(p.fit); // the solve needs only `a` and `rhs`
      collectGarbage();
    }
    let delta: Float64Array;
    try {
      delta = await solveSpd(gemm, a, n, rhs, D, { overwrite: true }); // [n, out]; `a` is not read again
    } catch (e) {
      if (e instanceof NotPositiveDefinite) throw new RecoveryFailure(`the damped Gram matrix is not positive definite (${e.message}); raise --recover-damp`);
      throw e;
    }
    const k = p.kept.length;
    for (let o = 0; o < D; o++) {
      for (let c = 0; c < k; c++) weight[o * k + c] += delta[c * D + o];
      if (refitBias) bias![o] += delta[k * D + o];
    }
    return { weight, bias };
  },
};
