/**
 * Running a list of tasks on one model: every input is checked before the model loads (flags, data
 * files, tokenizer), the model loads once, tasks run in the order asked, and the outcome is the run
 * record that `eval --json` writes and a later `report` compares before/after. The record is
 * deterministic for the same inputs except `finished_at` and each task's `seconds`.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { countParams } from '../arch/params.js';
import type { ParamCounts } from '../arch/params.js';
import { resolveModel } from '../models/resolve.js';
import { CausalLM } from '../engine/causal-lm.js';
import { VERSION } from '../engine/model.js';
import type { SessionOptions } from '../engine/session.js';
import { FileError, UsageError } from '../errors.js';
import { readRecordBeside, summaryOf } from '../export/amp-prune-record.js';
import type { AmpPruneSummary } from '../export/amp-prune-record.js';
import { loadTokenizer } from '../io/tokenizer.js';
import type { MetricValue, Task, TaskResult } from './task.js';
import { MULTIPLE_CHOICE_TASKS } from './tasks/index.js';

export interface EvalRequest {
  model: string;
  tasks: readonly Task[];
  dataDir?: string;
  limit?: number;
  /** Per-task limits that override `limit` (e.g. fewer perplexity windows than choice items). */
  taskLimits?: Readonly<Record<string, number>>;
  batchSize?: number;
  contextLength?: number;
  session: SessionOptions;
}

export interface EvalProgress {
  /** A task starts; the callback it returns hears (done, total) as work completes. */
  startTask(name: string): (done: number, total: number) => void;
  endTask(): void;
}

export interface TaskRecord {
  metrics: Record<string, MetricValue>;
  primary_metric: string;
  items: number;
  counts?: Record<string, number>;
  notes: string[];
  seconds: number;
}

export interface EvalRecord {
  tool: { name: 'amp-prune'; version: string };
  model: {
    path: string;
    architecture: string;
    model_type: string;
    parameters: ParamCounts;
    /** amp_prune.json without its per-layer lists (method, ratio, parameters, calibration...); null for a model we did not prune. */
    pruning: AmpPruneSummary | null;
  };
  settings: {
    tasks: string[];
    limit: number | null;
    task_limits?: Readonly<Record<string, number>>;
    ctx: number | null;
    batch_size: number | null;
    data_dir: string | null;
    device: string;
  };
  tasks: Record<string, TaskRecord>;
  /** Mean of the multiple-choice tasks' primary metrics; null when none ran. */
  average: { value: number; metrics: Record<string, string> } | null;
  finished_at: string;
}

function checkCount(flag: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) throw new UsageError(`${flag} must be a whole number >= ${min} (got ${value})`);
}

/** Every data file the tasks read exists, before minutes go into loading a model. */
async function checkDataFiles(tasks: readonly Task[], dataDir: string | undefined): Promise<void> {
  const needing = tasks.filter((t) => t.files.length > 0);
  if (needing.length === 0) return;
  if (dataDir === undefined) {
    const files = needing.flatMap((t) => t.files.map((f) => `${t.name}: ${f}`));
    throw new UsageError(`--data-dir is required: the tasks read data files (${files.join(', ')})`);
  }
  for (const task of needing) {
    for (const file of task.files) {
      const path = join(dataDir, file);
      try {
        await access(path);
      } catch {
        throw new FileError(path, `not found (task ${task.name} reads it; is --data-dir the folder holding ${file.split('/')[0]}/?)`);
      }
    }
  }
}

/** What amp_prune.json says about how the model was made, minus the bulky per-layer lists. */
async function pruningSummary(modelDir: string): Promise<AmpPruneSummary | null> {
  const record = await readRecordBeside(modelDir);
  return record && summaryOf(record);
}

function taskRecord(result: TaskResult): TaskRecord {
  return {
    metrics: result.metrics,
    primary_metric: result.primaryMetric,
    items: result.items,
    counts: result.counts,
    notes: result.notes ?? [],
    seconds: result.seconds,
  };
}

/** Mean primary metric (acc) of the multiple-choice tasks that ran. */
export function multipleChoiceAverage(results: readonly TaskResult[]): EvalRecord['average'] {
  const names = new Set(MULTIPLE_CHOICE_TASKS.map((t) => t.name));
  const chosen = results.filter((r) => names.has(r.task));
  if (chosen.length === 0) return null;
  const value = chosen.reduce((sum, r) => sum + r.metrics[r.primaryMetric].value, 0) / chosen.length;
  return { value, metrics: Object.fromEntries(chosen.map((r) => [r.task, r.primaryMetric])) };
}

export async function runEval(request: EvalRequest, progress?: EvalProgress): Promise<{ record: EvalRecord; results: TaskResult[] }> {
  // a built-in model's name or a .gguf model becomes a cached Hugging Face folder, evaluated from there
  const req = { ...request, model: await resolveModel(request.model) };
  if (req.tasks.length === 0) throw new UsageError('no tasks to run');
  const twice = req.tasks.find((t, i) => req.tasks.indexOf(t) !== i);
  if (twice) throw new UsageError(`task '${twice.name}' is listed twice in --tasks`);
  checkCount('--limit', req.limit, 1);
  checkCount('--batch-size', req.batchSize, 1);
  checkCount('--ctx', req.contextLength, 2);
  await checkDataFiles(req.tasks, req.dataDir);
  const tokenizer = await loadTokenizer(req.model);
  const pruning = await pruningSummary(req.model);

  const model = await CausalLM.load(req.model, req.session);
  const results: TaskResult[] = [];
  try {
    for (const task of req.tasks) {
      const onProgress = progress?.startTask(task.name);
      try {
        results.push(
          await task.run({
            model,
            tokenizer,
            dataDir: req.dataDir ?? '',
            limit: req.taskLimits?.[task.name] ?? req.limit,
            batchSize: req.batchSize,
            contextLength: req.contextLength,
            progress: onProgress,
          }),
        );
      } finally {
        progress?.endTask();
      }
    }
  } finally {
    await model.close();
  }

  const { spec } = model;
  const record: EvalRecord = {
    tool: { name: 'amp-prune', version: VERSION },
    model: {
      path: resolve(req.model),
      architecture: spec.architecture,
      model_type: spec.modelType,
      parameters: countParams(spec),
      pruning,
    },
    settings: {
      tasks: req.tasks.map((t) => t.name),
      limit: req.limit ?? null,
      ...(req.taskLimits ? { task_limits: req.taskLimits } : {}),
      ctx: req.contextLength ?? null,
      batch_size: req.batchSize ?? null,
      data_dir: req.dataDir === undefined ? null : resolve(req.dataDir),
      device: req.session.device ?? 'cpu',
    },
    tasks: Object.fromEntries(results.map((r) => [r.task, taskRecord(r)])),
    average: multipleChoiceAverage(results),
    finished_at: new Date().toISOString(),
  };
  return { record, results };
}
