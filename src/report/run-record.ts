/**
 * A run record (`amp-prune eval --json`) checked and reduced to what the report shows. Anything
 * that is not such a record fails with one line naming the file and the first field that is off.
 */
import { basename } from 'node:path';
import type { ParamCounts } from '../arch/params.js';
import { FileError } from '../errors.js';
import type { MetricValue } from '../eval/task.js';
import { isFiniteNumber, isObject, numberAt, stringAt } from '../io/json-input.js';
import type { JsonObject } from '../io/json-input.js';

export interface RunTask {
  name: string;
  /** Primary metric first, then the rest in the record's order. */
  metrics: [string, MetricValue][];
  primaryMetric: string;
  items: number;
}

export interface RunPruning {
  method: string | null;
  ratioAsked: number | null;
  ratioAchieved: number | null;
}

export interface ReportRun {
  file: string;
  /** Column heading: the model folder's name, made unique among the runs. */
  label: string;
  modelPath: string;
  architecture: string;
  parameters: ParamCounts;
  /** From amp_prune.json beside the evaluated model; null for a model amp-prune did not prune. */
  pruning: RunPruning | null;
  tasks: RunTask[];
  average: { value: number; metrics: Record<string, string> } | null;
  limit: number | null;
  finishedAt: string | null;
}

const PARAM_KEYS = ['embeddings', 'attention', 'mlp', 'norms', 'lmHead', 'total'] as const;

function notARun(file: string, problem: string): FileError {
  return new FileError(file, `not an amp-prune eval run record (${problem}); write one with \`amp-prune eval --json FILE\``);
}

function parseTask(file: string, name: string, value: unknown): RunTask {
  const where = `tasks.${name}`;
  if (!isObject(value) || !isObject(value.metrics)) throw notARun(file, `${where}.metrics is missing`);
  const metrics: [string, MetricValue][] = [];
  for (const [metric, entry] of Object.entries(value.metrics)) {
    if (!isObject(entry) || !isFiniteNumber(entry.value)) throw notARun(file, `${where}.metrics.${metric}.value is not a number`);
    metrics.push([metric, isFiniteNumber(entry.stderr) ? { value: entry.value, stderr: entry.stderr } : { value: entry.value }]);
  }
  const primary = typeof value.primary_metric === 'string' && value.primary_metric in value.metrics ? value.primary_metric : metrics[0]?.[0];
  if (primary === undefined) throw notARun(file, `${where} has no metrics`);
  metrics.sort(([a], [b]) => Number(b === primary) - Number(a === primary));
  return { name, metrics, primaryMetric: primary, items: isFiniteNumber(value.items) ? value.items : 0 };
}

function parseParameters(file: string, value: unknown): ParamCounts {
  if (!isObject(value)) throw notARun(file, 'model.parameters is missing');
  const counts = {} as ParamCounts;
  for (const key of PARAM_KEYS) {
    const count = value[key];
    if (!isFiniteNumber(count)) throw notARun(file, `model.parameters.${key} is not a number`);
    counts[key] = count;
  }
  return counts;
}

/** A finetuned-only model's summary has no method: it was not pruned. */
function parsePruning(value: unknown): RunPruning | null {
  if (!isObject(value) || typeof value.method !== 'string') return null;
  return { method: stringAt(value, 'method'), ratioAsked: numberAt(value, 'ratio.asked'), ratioAchieved: numberAt(value, 'ratio.achieved') };
}

function parseAverage(value: unknown): ReportRun['average'] {
  if (!isObject(value) || !isFiniteNumber(value.value) || !isObject(value.metrics)) return null;
  const metrics = Object.fromEntries(Object.entries(value.metrics).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return { value: value.value, metrics };
}

/** Tasks in the order they were asked for (the record's keys are sorted alphabetically). */
function taskOrder(record: JsonObject, tasks: JsonObject): string[] {
  const asked = record.settings && isObject(record.settings) && Array.isArray(record.settings.tasks) ? record.settings.tasks.filter((t): t is string => typeof t === 'string' && t in tasks) : [];
  return [...asked, ...Object.keys(tasks).filter((t) => !asked.includes(t))];
}

export function parseRunRecord(file: string, value: unknown): ReportRun {
  if (!isObject(value)) throw notARun(file, 'not a JSON object');
  const model = value.model;
  if (!isObject(model) || typeof model.path !== 'string') throw notARun(file, 'model.path is missing');
  if (!isObject(value.tasks)) throw notARun(file, 'tasks is missing');
  const tasksObject = value.tasks;
  return {
    file,
    label: basename(model.path) || model.path,
    modelPath: model.path,
    architecture: typeof model.architecture === 'string' ? model.architecture : 'unknown architecture',
    parameters: parseParameters(file, model.parameters),
    pruning: parsePruning(model.pruning),
    tasks: taskOrder(value, tasksObject).map((name) => parseTask(file, name, tasksObject[name])),
    average: parseAverage(value.average),
    limit: numberAt(value, 'settings.limit'),
    finishedAt: stringAt(value, 'finished_at'),
  };
}

/** Same model folder name twice (e.g. two --limit values): tell the columns apart by their run file. */
export function uniqueLabels(runs: readonly ReportRun[]): ReportRun[] {
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.label, (counts.get(run.label) ?? 0) + 1);
  return runs.map((run) => ((counts.get(run.label) ?? 0) < 2 ? run : { ...run, label: `${run.label} [${basename(run.file).replace(/\.json$/i, '')}]` }));
}

/** The baseline column: the first run of a model amp-prune did not prune, else the first run. */
export function baselineIndex(runs: readonly ReportRun[]): number {
  const dense = runs.findIndex((r) => r.pruning === null);
  return dense === -1 ? 0 : dense;
}
