/**
 * Gathers the report's inputs: run records (baseline first), the amp_prune.json of every pruned
 * run that has one beside its model (or given with --prune), and any speed records. Every file
 * problem is a one-line FileError naming the file.
 */
import { access } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FileError, UserError } from '../errors.js';
import { AMP_PRUNE_FILE, readAmpPruneRecord } from '../export/amp-prune-record.js';
import { readJsonFile } from '../io/json-input.js';
import { prunedModel } from './prune-record.js';
import type { PrunedModel } from './prune-record.js';
import { baselineIndex, parseRunRecord, uniqueLabels } from './run-record.js';
import type { ReportRun } from './run-record.js';
import { parseSpeedRecord } from './speed.js';
import type { SpeedRecord } from './speed.js';

export interface ReportRequest {
  runs: readonly string[];
  prune?: readonly string[];
  speed?: readonly string[];
}

export interface PruningView {
  /** The run column it belongs to, or the pruned model's folder name. */
  label: string;
  record: PrunedModel;
}

export interface ReportData {
  /** Baseline first. */
  runs: ReportRun[];
  prunings: PruningView[];
  speeds: SpeedRecord[];
  /** Things the reader should know about what is missing. */
  notes: string[];
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function loadRuns(files: readonly string[]): Promise<ReportRun[]> {
  const runs: ReportRun[] = [];
  for (const file of files) runs.push(parseRunRecord(file, await readJsonFile(file)));
  const labelled = uniqueLabels(runs);
  const base = baselineIndex(labelled);
  return [labelled[base], ...labelled.filter((_, i) => i !== base)];
}

async function loadPrunings(runs: readonly ReportRun[], explicit: readonly string[], notes: string[]): Promise<PruningView[]> {
  const runByFolder = new Map(runs.map((r) => [resolve(r.modelPath), r]));
  const views: PruningView[] = [];
  for (const file of explicit) {
    const folder = resolve(dirname(file));
    const record = prunedModel(file, await readAmpPruneRecord(file));
    if (!record) throw new FileError(file, 'records a finetune but no pruning: there are no per-layer plans to chart');
    views.push({ label: runByFolder.get(folder)?.label ?? basename(folder), record });
  }
  const given = new Set(explicit.map((f) => resolve(f)));
  for (const run of runs.filter((r) => r.pruning !== null)) {
    const file = join(run.modelPath, AMP_PRUNE_FILE);
    if (given.has(resolve(file))) continue;
    if (await exists(file)) {
      const record = prunedModel(file, await readAmpPruneRecord(file));
      if (record) views.push({ label: run.label, record });
    } else if (explicit.length === 0) notes.push(`${run.label}: ${file} was not found, so its per-layer charts are missing (pass --prune with its ${AMP_PRUNE_FILE}).`);
  }
  return views;
}

export async function loadReport(req: ReportRequest): Promise<ReportData> {
  if (req.runs.length === 0) throw new UserError('give at least one run record (written by `amp-prune eval --json FILE`)');
  const notes: string[] = [];
  const runs = await loadRuns(req.runs);
  const prunings = await loadPrunings(runs, req.prune ?? [], notes);
  const speeds: SpeedRecord[] = [];
  for (const file of req.speed ?? []) speeds.push(parseSpeedRecord(file, await readJsonFile(file)));
  return { runs, prunings, speeds, notes };
}
