/**
 * Neuron heatmaps bin neighbouring neurons so a row has at most a fixed number of columns: the
 * page stays small (an 11008-wide MLP becomes 126 bins of 88), and every neuron still counts.
 */

export interface Bin {
  /** First neuron index in the bin. */
  start: number;
  /** One past the last. */
  end: number;
  /** Mean score of the bin's neurons; null when there are no scores. */
  meanScore: number | null;
  /** Share of the bin's neurons that were pruned. */
  prunedShare: number;
}

/** Neurons per bin so that `width` neurons fit in at most `maxColumns` bins. */
export function binSize(width: number, maxColumns: number): number {
  if (!Number.isInteger(maxColumns) || maxColumns < 1) throw new RangeError(`maxColumns must be a positive integer (got ${maxColumns})`);
  return Math.max(1, Math.ceil(width / maxColumns));
}

/**
 * Bins `width` units in index order. `scores` (if any) has one entry per unit; `kept` lists the kept
 * unit indices. The last bin may be narrower.
 */
export function binUnits(width: number, size: number, scores: readonly number[] | null, kept: ReadonlySet<number>): Bin[] {
  const bins: Bin[] = [];
  for (let start = 0; start < width; start += size) {
    const end = Math.min(width, start + size);
    let sum = 0;
    let pruned = 0;
    for (let i = start; i < end; i++) {
      if (scores) sum += scores[i];
      if (!kept.has(i)) pruned += 1;
    }
    bins.push({ start, end, meanScore: scores ? sum / (end - start) : null, prunedShare: pruned / (end - start) });
  }
  return bins;
}
