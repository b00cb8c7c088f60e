/**
 * The shared machinery of lm-eval's `output_type: multiple_choice` tasks: an item is one
 * (context, continuation) request per choice; every request of the task goes to the model in one
 * CausalLM.loglikelihood call, which packs requests of similar length into batches, so the choices
 * of an item (and many items) share forward passes. Identical requests are scored once.
 *
 * `limit` takes the first N items of the task's file, in file order (lm-eval's --limit N).
 */
import type { LoglikelihoodRequest } from '../../engine/causal-lm.js';
import { FileError, UserError } from '../../errors.js';
import type { Task, TaskContext, TaskResult } from '../task.js';
import { DEFAULT_MAX_LENGTH, PairEncoder } from './encode-pair.js';
import { aggregate, itemScores } from './metrics.js';
import type { ChoiceMetric } from './metrics.js';

export interface ChoiceRequest {
  context: string;
  continuation: string;
}

export interface MultipleChoiceItem {
  /** One request per choice, as lm-eval's construct_requests builds them. */
  requests: ChoiceRequest[];
  /** lm-eval's doc_to_choice strings (acc_norm divides by their length). */
  choices: string[];
  /** Index of the correct choice. */
  gold: number;
  /** Where the item is in its data file, so that an item that cannot be scored is named there. */
  source?: { file: string; line: number };
}

/** `item`, marked as read from `source` (a JSONL record, or a line of another file). */
export function withSource(item: MultipleChoiceItem, source: { file: string; line: number }): MultipleChoiceItem {
  return { ...item, source: { file: source.file, line: source.line } };
}

/** lm-eval's default target_delimiter, put between a context and each continuation. */
const TARGET_DELIMITER = ' ';

/** The usual shape: one context, each choice a continuation of it. */
export function choicesAfterContext(context: string, choices: string[], gold: number): MultipleChoiceItem {
  return { requests: choices.map((c) => ({ context, continuation: TARGET_DELIMITER + c })), choices, gold };
}

/** WinoGrande's shape: each choice is its own context, all followed by the same continuation. */
export function contextsBeforeContinuation(contexts: string[], continuation: string, gold: number): MultipleChoiceItem {
  return { requests: contexts.map((context) => ({ context, continuation: TARGET_DELIMITER + continuation })), choices: contexts, gold };
}

/** What a task's loader returns. */
export interface LoadedItems {
  items: MultipleChoiceItem[];
  notes?: string[];
}

/**
 * Log-likelihood of every choice of every item: result[item][choice]. A choice that cannot be
 * scored (its continuation alone longer than the model's context; lm-eval asserts there too) is a
 * UserError naming the item, prefixed with `taskName`.
 */
export async function scoreItems(ctx: TaskContext, items: readonly MultipleChoiceItem[], taskName = 'task'): Promise<number[][]> {
  const encoder = new PairEncoder(ctx.tokenizer, ctx.model.maxLength ?? DEFAULT_MAX_LENGTH);
  const unique: LoglikelihoodRequest[] = [];
  const indexOf = new Map<string, number>();
  const slots = items.map((item, itemIndex) =>
    item.requests.map(({ context, continuation }, choice) => {
      let request: LoglikelihoodRequest;
      try {
        request = encoder.request(context, continuation);
      } catch (error) {
        const problem = `choice ${choice + 1}: ${(error as Error).message}`;
        const { source } = item;
        if (source) throw new FileError(source.file, `line ${source.line}: ${taskName} item ${itemIndex + 1}, ${problem}`);
        throw new UserError(`${taskName}: item ${itemIndex + 1}, ${problem}`);
      }
      const key = `${request.scoreFrom}:${request.tokens.join(',')}`;
      let slot = indexOf.get(key);
      if (slot === undefined) {
        slot = unique.push(request) - 1;
        indexOf.set(key, slot);
      }
      return slot;
    }),
  );
  const results = await ctx.model.loglikelihood(unique, {
    maxBatchSize: ctx.batchSize,
    // Batches finish in length order, not item order: report the share of requests done.
    onProgress: (done, total) => ctx.progress?.(Math.floor((done / total) * items.length), items.length),
  });
  return slots.map((choices) => choices.map((slot) => results[slot].logprob));
}

export interface MultipleChoiceTaskSpec {
  name: string;
  description: string;
  files: readonly string[];
  /** The metrics in the lm-eval YAML's metric_list. */
  metrics: readonly ChoiceMetric[];
  primaryMetric: ChoiceMetric;
  load(dataDir: string, limit: number | undefined): Promise<LoadedItems>;
}

/** A Task whose items and metric list can also be read on their own (for tests and tools). */
export interface MultipleChoiceTask extends Task {
  readonly metrics: readonly ChoiceMetric[];
  load(dataDir: string, limit: number | undefined): Promise<LoadedItems>;
}

export function multipleChoiceTask(spec: MultipleChoiceTaskSpec): MultipleChoiceTask {
  return {
    name: spec.name,
    description: spec.description,
    files: spec.files,
    metrics: spec.metrics,
    load: spec.load,
    async run(ctx: TaskContext): Promise<TaskResult> {
      const started = performance.now();
      const { items, notes } = await spec.load(ctx.dataDir, ctx.limit);
      if (items.length === 0) throw new UserError(`${spec.name}: no items to evaluate (${spec.files.join(', ')})`);
      const loglikelihoods = await scoreItems(ctx, items, spec.name);
      const perItem = items.map((item, i) => itemScores(loglikelihoods[i], item.choices, item.gold));
      const metrics = Object.fromEntries(spec.metrics.map((m) => [m, aggregate(perItem.map((s) => s[m]))]));
      ctx.progress?.(items.length, items.length);
      return {
        task: spec.name,
        metrics,
        items: items.length,
        primaryMetric: spec.primaryMetric,
        ...(notes && notes.length > 0 ? { notes } : {}),
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}
