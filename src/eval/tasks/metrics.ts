/**
 * lm-evaluation-harness's multiple-choice metrics (`ConfigurableTask.process_results`) and their
 * aggregation (`mean`, `mean_stderr`), computed in the same order so the numbers agree bit for bit.
 */
import type { MetricValue } from '../task.js';
import { pyLength } from './text.js';

export type ChoiceMetric = 'acc' | 'acc_norm';

/** Index of the first largest value, like numpy.argmax. */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * acc: the choice with the highest log-likelihood is the gold one. acc_norm: the same after
 * dividing each log-likelihood by the length of the choice text in characters (Python len(), not
 * bytes and not tokens; lm-eval's `completion_len`; its byte-normalised variant is acc_bytes).
 */
export function itemScores(loglikelihoods: readonly number[], choices: readonly string[], gold: number): Record<ChoiceMetric, number> {
  const normalised = loglikelihoods.map((ll, i) => ll / pyLength(choices[i]));
  return {
    acc: argmax(loglikelihoods) === gold ? 1 : 0,
    acc_norm: argmax(normalised) === gold ? 1 : 0,
  };
}

/** lm-eval's `mean`: sum(arr) / len(arr). */
export function mean(values: readonly number[]): number {
  return values.reduce((a, x) => a + x, 0) / values.length;
}

/** lm-eval's `mean_stderr`: sample standard deviation (n - 1) over sqrt(n); none for n < 2 ("N/A"). */
export function meanStderr(values: readonly number[]): number | undefined {
  const n = values.length;
  if (n < 2) return undefined;
  const mu = mean(values);
  const sumSquares = values.reduce((a, x) => a + (x - mu) ** 2, 0);
  return Math.sqrt(sumSquares / (n - 1)) / Math.sqrt(n);
}

export function aggregate(values: readonly number[]): MetricValue {
  const stderr = meanStderr(values);
  return stderr === undefined ? { value: mean(values) } : { value: mean(values), stderr };
}
