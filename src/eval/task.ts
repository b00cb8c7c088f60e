/**
 * The contract every evaluation task implements. A task reads its published data files from the
 * data folder (laid out like ../shared/data), scores the model through CausalLM.loglikelihood,
 * and returns metrics with standard errors, named as lm-evaluation-harness names them.
 */
import type { CausalLM } from '../engine/causal-lm.js';
import type { ModelTokenizer } from '../io/tokenizer.js';

export interface TaskContext {
  model: CausalLM;
  tokenizer: ModelTokenizer;
  /** Folder holding one sub-folder per dataset (e.g. ../shared/data). */
  dataDir: string;
  /** Only the first N items (documents for wikitext); undefined = all. */
  limit?: number;
  /** Sequences per forward pass, a hint (tasks may pack by tokens instead). */
  batchSize?: number;
  /** Context length for perplexity windows; default: 2048 or the model's maximum. */
  contextLength?: number;
  /** Called as work completes (items or windows), for a progress bar with ETA. */
  progress?: (done: number, total: number) => void;
}

export interface MetricValue {
  value: number;
  /** Standard error, as lm-eval reports it (absent where lm-eval reports none). */
  stderr?: number;
}

export interface TaskResult {
  task: string;
  /** Metric name -> value, e.g. acc, acc_norm; word_perplexity, byte_perplexity, bits_per_byte; token_perplexity. */
  metrics: Record<string, MetricValue>;
  /** Items (or documents) evaluated. */
  items: number;
  /** Which metric is the headline (for averages and reports). */
  primaryMetric: string;
  /** Free-form notes worth showing (e.g. which convention a perplexity follows). */
  notes?: string[];
  /** Other numbers a report may compare (e.g. windows, predicted tokens, words, bytes, window length). */
  counts?: Record<string, number>;
  seconds: number;
}

export interface Task {
  name: string;
  description: string;
  /** Data files read, relative to the data folder (for error messages and --help). */
  files: readonly string[];
  run(ctx: TaskContext): Promise<TaskResult>;
}
