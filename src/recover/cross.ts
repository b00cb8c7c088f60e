/**
 * Refitting to the dense MODEL's activations (--refit-target model): the pruned model's input X
 * to a projection and the dense model's input X_d at the same point differ, and the target is
 * X_d W. In math layout (W [in, out]), with G = XᵀX over the fitting tokens and C = XᵀX_d,
 *
 *   min ‖X_K W' − X_d W‖² + λ‖W' − W_K‖²   ⇒   (G_KK + λI) W' = C_K· W + λ W_K
 *                                           ⇒   W' = W_K + (G_KK + λI)⁻¹ (C_K· W − G_KK W_K)
 *
 * (X_d = X gives C = G and the layer-target right side G_KP W_P.) With the bias refit both inputs
 * are extended by a ones column whose dense weight is the dense bias: C̃[i, F] = Σ x_i,
 * C̃[F, j] = Σ x_d,j, C̃[F, F] = Σ w. Token weights w weigh C as they weigh G.
 */
import type { Gemm } from '../engine/gemm.js';
import type { OutputTensor } from '../engine/session.js';
import { extendedBlock } from './gram.js';
import type { GramStats } from './gram.js';
import { carriedBias } from './slice-columns.js';
import type { ProjectionProblem } from './types.js';

/** Σ_t w_t x_t x_d,tᵀ [features, features] and Σ_t w_t x_d,t over the fitting tokens. */
export interface CrossStats {
  features: number;
  gram: Float64Array;
  sum: Float64Array;
}

export function emptyCross(features: number): CrossStats {
  return { features, gram: new Float64Array(features * features), sum: new Float64Array(features) };
}

export function addCrossBatch(stats: CrossStats, gram: OutputTensor, sum: OutputTensor): void {
  const F = stats.features;
  if (gram.data.length !== F * F || sum.data.length !== F) throw new Error(`cross tap width ${sum.data.length} != ${F}`);
  for (let i = 0; i < F * F; i++) stats.gram[i] += gram.data[i];
  for (let i = 0; i < F; i++) stats.sum[i] += sum.data[i];
}

/** C̃[rows, cols] (index `features` = the ones column) as a dense row-major float64 block. */
function crossBlock(fit: GramStats, cross: CrossStats, rows: readonly number[], cols: readonly number[]): Float64Array {
  const F = cross.features;
  const out = new Float64Array(rows.length * cols.length);
  rows.forEach((r, a) =>
    cols.forEach((c, b) => {
      out[a * cols.length + b] = r < F ? (c < F ? cross.gram[r * F + c] : fit.sum[r]) : c < F ? cross.sum[c] : fit.totalWeight;
    }),
  );
  return out;
}

/** W̃[rows, :] in math layout [rows, out]: dense weight columns, index `in` = the carried bias. */
function denseRows(p: ProjectionProblem, rows: readonly number[]): Float64Array {
  const F = p.inFeatures;
  const D = p.outFeatures;
  const bias = carriedBias(p);
  const out = new Float64Array(rows.length * D);
  rows.forEach((j, r) => {
    for (let o = 0; o < D; o++) out[r * D + o] = j < F ? p.weight[o * F + j] : bias![o];
  });
  return out;
}

/** The right side C̃_K,A W̃_A − G̃_KK W̃_K [|K|, out]; A = every dense input (+ the ones column when it is kept). */
export async function modelTargetRhs(p: ProjectionProblem, target: CrossStats, kept: readonly number[], gemm: Gemm): Promise<Float64Array> {
  const F = p.inFeatures;
  const D = p.outFeatures;
  const all = Array.from({ length: F }, (_, j) => j);
  if (kept.includes(F)) all.push(F);
  const n = kept.length;
  const toward = await gemm.matmul('float64', crossBlock(p.fit, target, kept, all), n, all.length, denseRows(p, all), D);
  const stay = await gemm.matmul('float64', extendedBlock(p.fit, kept, kept), n, n, denseRows(p, kept), D);
  for (let i = 0; i < toward.length; i++) toward[i] -= stay[i];
  return toward;
}
