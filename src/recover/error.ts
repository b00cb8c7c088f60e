/**
 * Relative output error of a repaired projection on held-out tokens, from their rows X̃ (inputs
 * scaled by √w, bias column appended: recover/held-rows.ts): with Δ = W̃' − W̃ (weights extended by
 * the bias column, removed columns of W̃' zero), ‖Y' − Y‖² = ‖X̃ Δᵀ‖² and ‖Y‖² = ‖X̃ W̃ᵀ‖². float32
 * GEMMs: a reported metric, not a solve.
 */
import type { Gemm } from '../engine/gemm.js';
import type { HeldRows } from './held-rows.js';
import type { ProjectionProblem, ProjectionRepair } from './types.js';

/** ‖X̃ Mᵀ‖² for M [rows, F+1]. */
async function squaredNorm(gemm: Gemm, held: HeldRows, m: Float32Array, rows: number): Promise<number> {
  const y = await gemm.matmul('float32', held.data, held.tokens, held.features + 1, m, rows, true);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * y[i];
  return s;
}

/** The dense weight extended by its bias column, [out, F+1]. */
function denseExtended(p: ProjectionProblem): Float32Array {
  const F = p.inFeatures;
  const n = F + 1;
  const out = new Float32Array(p.outFeatures * n);
  for (let o = 0; o < p.outFeatures; o++) {
    out.set(p.weight.subarray(o * F, (o + 1) * F), o * n);
    out[o * n + F] = p.bias?.[o] ?? 0;
  }
  return out;
}

export interface ErrorPair {
  /** ‖Y_sliced − Y_dense‖ / ‖Y_dense‖ (no recovery). */
  before: number;
  /** ‖Y_repaired − Y_dense‖ / ‖Y_dense‖. */
  after: number;
}

export async function relativeErrors(gemm: Gemm, p: ProjectionProblem, repairs: { before: ProjectionRepair; after: ProjectionRepair }, held: HeldRows): Promise<ErrorPair> {
  if (held.features !== p.inFeatures) throw new Error(`held-out rows have ${held.features} features, the projection ${p.inFeatures}`);
  if (held.tokens === 0) return { before: 0, after: 0 };
  const F = p.inFeatures;
  const n = F + 1;
  const dense = denseExtended(p);
  const norm = await squaredNorm(gemm, held, dense, p.outFeatures);
  const errorOf = async (r: ProjectionRepair) => {
    // (a loop: Float32Array.from with a mapping function took 11 s on the 45M entries of a 7B down_proj)
    const delta = new Float32Array(dense.length);
    for (let i = 0; i < dense.length; i++) delta[i] = -dense[i];
    const k = p.kept.length;
    for (let o = 0; o < p.outFeatures; o++) {
      for (let c = 0; c < k; c++) delta[o * n + p.kept[c]] += r.weight[o * k + c];
      delta[o * n + F] += r.bias?.[o] ?? 0;
    }
    const e = await squaredNorm(gemm, held, delta, p.outFeatures);
    return norm > 0 ? Math.sqrt(e / norm) : 0;
  };
  return { before: await errorOf(repairs.before), after: await errorOf(repairs.after) };
}
