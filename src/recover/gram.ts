/**
 * Running Gram statistics of one projection's input over calibration tokens, accumulated in
 * float64 from the per-batch float32 sums the layer graph emits (engine/layer.ts `gram` tap).
 * A batch holds at most a few thousand tokens, so its float32 sums carry ~1e-6 relative error,
 * far below the damping the solve adds; the cross-batch total is float64.
 */
import type { OutputTensor } from '../engine/session.js';

export interface GramStats {
  features: number;
  /** Σ_t w_t: the number of real tokens when every token weighs 1 (engine/layer.ts GramWeighting). */
  totalWeight: number;
  /** Σ_t x xᵀ, [features, features] row-major. */
  gram: Float64Array;
  /** Σ_t x, [features]. */
  sum: Float64Array;
}

export function emptyGram(features: number): GramStats {
  return { features, totalWeight: 0, gram: new Float64Array(features * features), sum: new Float64Array(features) };
}

export function addBatch(stats: GramStats, gram: OutputTensor, sum: OutputTensor, weight: OutputTensor): void {
  const F = stats.features;
  if (gram.data.length !== F * F || sum.data.length !== F) throw new Error(`gram tap width ${sum.data.length} != ${F}`);
  for (let i = 0; i < F * F; i++) stats.gram[i] += gram.data[i];
  for (let i = 0; i < F; i++) stats.sum[i] += sum.data[i];
  stats.totalWeight += weight.data[0];
}

/**
 * Entries of the Gram matrix of the input extended by a constant 1 (the bias input): index
 * `features` stands for that column, so G̃[F, j] = Σ x_j and G̃[F, F] = Σ w.
 */
export function extendedEntry(stats: GramStats, i: number, j: number): number {
  const F = stats.features;
  if (i < F && j < F) return stats.gram[i * F + j];
  if (i < F) return stats.sum[i];
  if (j < F) return stats.sum[j];
  return stats.totalWeight;
}

/** G̃[rows, cols] as a dense row-major float64 block. */
export function extendedBlock(stats: GramStats, rows: readonly number[], cols: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * cols.length);
  rows.forEach((r, a) => cols.forEach((c, b) => (out[a * cols.length + b] = extendedEntry(stats, r, c))));
  return out;
}
