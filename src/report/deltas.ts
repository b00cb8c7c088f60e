/** Changes against the baseline, and whether each is for the better: that depends on the metric. */
import { formatMetric, formatPercent, formatSigned } from './format.js';

/** Perplexities and bits per byte improve downwards; accuracies (and anything else) upwards. */
export function lowerIsBetter(metric: string): boolean {
  return /perplexity|bits_per_byte|loss/i.test(metric);
}

export interface Delta {
  text: string;
  className: 'better' | 'worse' | 'same';
}

/** "+0.2000 (+50.0%)"; the relative part is left out when the baseline is 0. */
export function delta(metric: string, value: number, baseline: number): Delta {
  const change = value - baseline;
  if (change === 0) return { text: '\u0394 0', className: 'same' };
  const absolute = formatSigned(formatMetric(change), change);
  const ratio = baseline === 0 ? 0 : change / Math.abs(baseline);
  // Small changes keep a significant digit instead of reading "-0.0%".
  const relative = baseline === 0 ? '' : ` (${formatSigned(formatPercent(ratio, Math.abs(ratio) < 0.001 ? 3 : 1), change)})`;
  const improved = lowerIsBetter(metric) ? change < 0 : change > 0;
  return { text: `\u0394 ${absolute}${relative}`, className: improved ? 'better' : 'worse' };
}
