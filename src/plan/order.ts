/** Ordering scores for pruning: who goes first, and per-layer standardisation for global ranking. */
import { UserError } from '../errors.js';

/**
 * Indices in the order they are pruned: lowest score first; among equal scores the higher index
 * goes first, so the lower index is kept. Deterministic whatever the sort implementation.
 */
export function pruneOrder(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[a] - scores[b] || b - a);
}

/** (s − mean) / std with the population std; all zeros when every score is equal. */
export function zScores(scores: ArrayLike<number>): Float64Array {
  const n = scores.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += scores[i];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (scores[i] - mean) ** 2;
  const std = Math.sqrt(squares / n);
  const z = new Float64Array(n);
  if (std > 0) for (let i = 0; i < n; i++) z[i] = (scores[i] - mean) / std;
  return z;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** NaN would make every ordering above meaningless, so it stops the plan instead. */
export function assertFinite(scores: ArrayLike<number>, layer: number, what: string): void {
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      throw new UserError(`layer ${layer}: the score of ${what} ${i} is ${scores[i]}; scores must be finite (did the calibration pass overflow?)`);
    }
  }
}
