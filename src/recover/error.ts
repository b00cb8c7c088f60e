/**
 * Relative output error of a repaired projection on held-out tokens, from their Gram statistics:
 * with Δ = W̃' − W̃ (weights extended by the bias column, removed columns of W̃' zero),
 * ‖Y' − Y‖² = tr(Δ G̃ Δᵀ) and ‖Y‖² = tr(W̃ G̃ W̃ᵀ) — no activations kept. float32 GEMMs: a
 * reported metric, not a solve.
 */
import type { Gemm } from '../engine/gemm.js';
import { extendedBlock } from './gram.js';
import type { GramStats } from './gram.js';
import type { ProjectionProblem, ProjectionRepair } from './types.js';

function extendedGram32(g: GramStats): Float32Array {
  const all = Array.from({ length: g.features + 1 }, (_, i) => i);
  return Float32Array.from(extendedBlock(g, all, all));
}

/** tr(M G̃ Mᵀ) for M [rows, F+1]. */
async function quadratic(gemm: Gemm, m: Float32Array, rows: number, g: Float32Array, n: number): Promise<number> {
  const mg = await gemm.matmul('float32', m, rows, n, g, n);
  let s = 0;
  for (let i = 0; i < mg.length; i++) s += mg[i] * m[i];
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

export async function relativeErrors(gemm: Gemm, p: ProjectionProblem, repairs: { before: ProjectionRepair; after: ProjectionRepair }, held: GramStats): Promise<ErrorPair> {
  const F = p.inFeatures;
  const n = F + 1;
  const g = extendedGram32(held);
  const dense = denseExtended(p);
  const norm = await quadratic(gemm, dense, p.outFeatures, g, n);
  const errorOf = async (r: ProjectionRepair) => {
    const delta = Float32Array.from(dense, (x) => -x);
    const k = p.kept.length;
    for (let o = 0; o < p.outFeatures; o++) {
      for (let c = 0; c < k; c++) delta[o * n + p.kept[c]] += r.weight[o * k + c];
      delta[o * n + F] += r.bias?.[o] ?? 0;
    }
    const e = await quadratic(gemm, delta, p.outFeatures, g, n);
    return norm > 0 ? Math.sqrt(Math.max(e, 0) / norm) : 0;
  };
  return { before: await errorOf(repairs.before), after: await errorOf(repairs.after) };
}
