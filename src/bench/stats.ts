/** Summaries of repeated timings: the median resists one slow run (a page fault, a GC pause). */
import type { Stat } from './record.js';

export function summarize(runs: readonly number[]): Stat {
  if (runs.length === 0) throw new Error('summarize: no runs');
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: [...runs] };
}
