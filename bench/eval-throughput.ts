/**
 * bench/eval-throughput: items/s of `amp-prune eval` against lm-evaluation-harness (HF backend)
 * on the same model, the same multiple-choice items (the local-data task YAMLs of
 * tests/fixtures/lm_eval_tasks), the same --limit and the same thread count.
 *
 *   node --import tsx bench/eval-throughput.ts [--quick] [--threads N] [--limit 100] [--tasks piqa,...] [--hf-batch-size 16] [--model DIR]
 *
 * An item is one document (a question with all its choices). Per task: items / the task's own
 * seconds with the model loaded (ours: the run record's `seconds`; lm-eval: simple_evaluate on
 * that task alone). Overall: all items / the sum of task seconds, and all items / the whole
 * process wall time (start, model load, every task).
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATA, FIXTURES, fixed, isMain, machine, printTable, runCli, runPythonJson, writeResult } from './common.js';
import { realModel, REPO_ROOT } from './real-model.js';

/** Our task name -> the lm-eval task over the same data (hellaswag: the shared text rendering). */
const LM_EVAL_NAME: Record<string, string> = {
  piqa: 'amp_piqa',
  hellaswag: 'amp_hellaswag_rendering',
  winogrande: 'amp_winogrande',
  arc_easy: 'amp_arc_easy',
  arc_challenge: 'amp_arc_challenge',
  boolq: 'amp_boolq',
  openbookqa: 'amp_openbookqa',
};

interface Metric {
  value: number;
  stderr?: number | null;
}

interface OurRecord {
  tasks: Record<string, { seconds: number; items: number; primary_metric: string; metrics: Record<string, Metric> }>;
}

interface HfResult {
  versions: Record<string, string>;
  batch_size: number;
  load_seconds: number;
  tasks: Record<string, { seconds: number; items: number; metrics: Record<string, Metric> }>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      threads: { type: 'string' },
      limit: { type: 'string' },
      tasks: { type: 'string' },
      'hf-batch-size': { type: 'string', default: '16' },
      model: { type: 'string' },
    },
  });
  const quick = values.quick;
  const threads = Number(values.threads ?? os.availableParallelism());
  const host = await machine(threads);
  const limit = Number(values.limit ?? (quick ? 4 : 100));
  const tasks = (values.tasks ?? Object.keys(LM_EVAL_NAME).join(',')).split(',');
  const model = values.model ?? (quick ? join(FIXTURES, 'trained-llama') : await realModel());
  const scratch = join(REPO_ROOT, 'scratch', 'bench', 'eval-throughput');
  const recordFile = join(scratch, 'ours.json');
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });

  const evalArgs = (n: number) => ['eval', '--model', model, '--tasks', tasks.join(','), '--data-dir', DATA, '--limit', String(n), '--json', recordFile];
  await runCli(evalArgs(1), threads); // warm-up: tsx's compile cache, data files in the page cache
  const ours = await runCli(evalArgs(limit), threads);
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as OurRecord;
  const hf = await runPythonJson<HfResult>(
    'lm_eval_throughput.py',
    ['--model', model, '--data-dir', DATA, '--work-dir', join(scratch, 'lm-eval'), '--limit', String(limit), '--tasks', tasks.map((t) => LM_EVAL_NAME[t]).join(','), '--batch-size', values['hf-batch-size']],
    threads,
  );

  const rows = tasks.map((t) => {
    const o = record.tasks[t];
    const h = hf.result.tasks[LM_EVAL_NAME[t]];
    const metric = o.primary_metric;
    return {
      task: t,
      items: o.items,
      lm_eval_items: h.items,
      ours_seconds: o.seconds,
      lm_eval_seconds: h.seconds,
      ours_items_per_s: o.items / o.seconds,
      lm_eval_items_per_s: h.items / h.seconds,
      ratio: h.seconds / o.seconds,
      metric,
      ours_value: o.metrics[metric].value,
      lm_eval_value: h.metrics[metric]?.value ?? NaN,
    };
  });
  const items = rows.reduce((a, r) => a + r.items, 0);
  const oursTaskSeconds = rows.reduce((a, r) => a + r.ours_seconds, 0);
  const hfTaskSeconds = rows.reduce((a, r) => a + r.lm_eval_seconds, 0);
  const overall = {
    items,
    tasks_only: { ours_items_per_s: items / oursTaskSeconds, lm_eval_items_per_s: items / hfTaskSeconds, ratio: hfTaskSeconds / oursTaskSeconds },
    process: { ours_seconds: ours.seconds, lm_eval_seconds: hf.run.seconds, ours_items_per_s: items / ours.seconds, lm_eval_items_per_s: items / hf.run.seconds, ratio: hf.run.seconds / ours.seconds },
  };
  printTable([
    ['task', 'items', 'ours items/s', 'lm-eval items/s', 'ours/lm-eval (goal ≥ 2)', 'metric', 'ours', 'lm-eval'],
    ...rows.map((r) => [r.task, String(r.items), fixed(r.ours_items_per_s), fixed(r.lm_eval_items_per_s), `${fixed(r.ratio)}x`, r.metric, fixed(r.ours_value, 3), fixed(r.lm_eval_value, 3)]),
    ['all (task time)', String(items), fixed(overall.tasks_only.ours_items_per_s), fixed(overall.tasks_only.lm_eval_items_per_s), `${fixed(overall.tasks_only.ratio)}x`, '', '', ''],
    ['all (process)', String(items), fixed(overall.process.ours_items_per_s), fixed(overall.process.lm_eval_items_per_s), `${fixed(overall.process.ratio)}x`, '', '', ''],
  ]);
  console.log(`lm-eval HF batch size ${hf.result.batch_size}; model load: lm-eval ${fixed(hf.result.load_seconds)} s`);
  if (quick) return;
  const file = await writeResult('eval-throughput', {
    bench: 'eval-throughput',
    machine: host,
    lm_eval_versions: hf.result.versions,
    model,
    settings: { limit, tasks, lm_eval_tasks: tasks.map((t) => LM_EVAL_NAME[t]), lm_eval_batch_size: hf.result.batch_size, ours_batching: 'default (requests packed up to 4096 tokens per forward)', repeats: 1 },
    definitions: {
      item: 'one document: a question with all its choices',
      task_seconds: 'ours: the run record seconds of the task; lm-eval: simple_evaluate on the task alone; model already loaded in both',
      process_seconds: 'child process spawn to exit (start, model load, every task)',
    },
    rows,
    overall,
    goal: 'ours/lm-eval items/s ≥ 2',
  });
  console.log(`written ${file}`);
}

if (isMain(import.meta.url)) await main();
