/** `amp-prune eval`: flags -> runEval -> a table of metrics (and the run JSON with --json). */
import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { parseDevice } from '../../engine/session.js';
import { FileError, UserError } from '../../errors.js';
import { runEval } from '../../eval/run.js';
import type { EvalProgress, EvalRecord } from '../../eval/run.js';
import { tasksByName } from '../../eval/registry.js';
import type { TaskResult } from '../../eval/task.js';
import { stableJson } from '../../export/json.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { prepareModel } from '../model-arg.js';
import { countFlag } from '../options.js';
import type { GlobalOptions } from '../program.js';

export interface EvalFlags {
  model: string;
  tasks: string;
  dataDir?: string;
  limit?: string;
  batchSize?: string;
  ctx?: string;
  json?: string;
}

/** A whole-number flag; range errors name the flag and the bound. */
const count = (flag: string, value: string | undefined, min: number): number | undefined => (value === undefined ? undefined : countFlag(flag, value, min));

/** One bar per task with ETA, on stderr and only on a terminal. */
function terminalTaskProgress(): EvalProgress | undefined {
  if (!process.stderr.isTTY) return undefined;
  let bar: cliProgress.SingleBar | undefined;
  return {
    startTask(name) {
      bar = new cliProgress.SingleBar(
        { format: `${name.padEnd(14)} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      return (done, total) => {
        if (!started) bar?.start(total, 0);
        started = true;
        bar?.setTotal(total);
        bar?.update(done);
      };
    },
    endTask() {
      bar?.stop();
      bar = undefined;
    },
  };
}

function formatValue(x: number): string {
  return Math.abs(x) >= 1e7 ? x.toExponential(4) : x.toFixed(4);
}

function printTable(results: readonly TaskResult[], average: EvalRecord['average']): void {
  const rows: [string, string, string][] = [['task', 'metric', 'value']];
  for (const r of results) {
    Object.entries(r.metrics).forEach(([metric, { value, stderr }], i) => {
      const shown = stderr === undefined ? formatValue(value) : `${formatValue(value)} ± ${formatValue(stderr)}`;
      rows.push([i === 0 ? r.task : '', metric, shown]);
    });
  }
  const taskWidth = Math.max(...rows.map((r) => r[0].length));
  const metricWidth = Math.max(...rows.map((r) => r[1].length));
  for (const [task, metric, value] of rows) console.log(`${task.padEnd(taskWidth)}  ${metric.padEnd(metricWidth)}  ${value}`);
  if (average) {
    const over = Object.entries(average.metrics).map(([task, metric]) => `${task} ${metric}`);
    console.log(`\naverage (multiple choice: ${over.join(', ')}): ${formatValue(average.value)}`);
  }
  const notes = results.flatMap((r) => (r.notes ?? []).map((n) => `  ${r.task}: ${n}`));
  if (notes.length > 0) console.log(`\nnotes:\n${notes.join('\n')}`);
}

/** The --json folder must exist now, not after an hour of evaluation. */
async function checkJsonTarget(file: string | undefined): Promise<void> {
  if (file === undefined) return;
  const folder = dirname(resolve(file));
  try {
    await access(folder);
  } catch {
    throw new FileError(folder, 'folder not found (for --json)');
  }
}

async function writeRecord(file: string, record: EvalRecord): Promise<void> {
  try {
    await writeFileAtomic(file, stableJson(record));
  } catch (error) {
    throw new FileError(file, `cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export async function evalCommand(flags: EvalFlags, global: GlobalOptions): Promise<void> {
  const tasks = tasksByName(flags.tasks);
  await checkJsonTarget(flags.json);
  await prepareModel(flags.model); // fetch / convert with progress bars; runEval() then finds the cached folder
  const { record, results } = await runEval(
    {
      model: flags.model,
      tasks,
      dataDir: flags.dataDir,
      limit: count('--limit', flags.limit, 1),
      batchSize: count('--batch-size', flags.batchSize, 1),
      contextLength: count('--ctx', flags.ctx, 2),
      session: { device: parseDevice(global.device), threads: global.threads },
    },
    terminalTaskProgress(),
  );
  printTable(results, record.average);
  if (flags.json) {
    await writeRecord(flags.json, record);
    console.log(`\nrun record written to ${flags.json}`);
  }
}
