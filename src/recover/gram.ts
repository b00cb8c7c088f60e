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

/**
 * Frees the F × F matrix once its one consumer has read what it needs (ProjectionProblem.fitDisposable):
 * at an 8192-wide MLP that is 512 MB that would otherwise sit beside the solve. Σx and the weight stay.
 */
export function releaseGram(stats: GramStats): void {
  stats.gram = new Float64Array(0);
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
 * G̃[rows, cols] as a dense row-major float64 block, G̃ being the Gram matrix of the input extended
 * by a constant 1 (the bias input): index `features` stands for that column, so G̃[F, j] = Σ x_j
 * and G̃[F, F] = Σ w.
 */
export function extendedBlock(stats: GramStats, rows: readonly number[], cols: readonly number[]): Float64Array {
  const F = stats.features;
  const { gram, sum } = stats;
  if (gram.length !== F * F) throw new Error('extendedBlock: the Gram matrix was released');
  const w = cols.length;
  const out = new Float64Array(rows.length * w);
  // row by row, straight from the arrays: at LLaMA widths this block has ~6e7 entries
  for (let a = 0; a < rows.length; a++) {
    const r = rows[a];
    const at = a * w;
    if (r < F) {
      const base = r * F;
      for (let b = 0; b < w; b++) {
        const c = cols[b];
        out[at + b] = c < F ? gram[base + c] : sum[r];
      }
    } else {
      for (let b = 0; b < w; b++) {
        const c = cols[b];
        out[at + b] = c < F ? sum[c] : stats.totalWeight;
      }
    }
  }
  return out;
}
