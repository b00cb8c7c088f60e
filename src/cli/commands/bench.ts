/** `amp-prune bench`: flags -> runBench -> a table (and the speed record with --json). */
import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { runBench } from '../../bench/run.js';
import { benchTable } from '../../bench/table.js';
import { parseDevice } from '../../engine/session.js';
import { FileError, UsageError } from '../../errors.js';
import { stableJson } from '../../export/json.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { namedBuiltinModel } from '../../models/resolve.js';
import { prepareModel } from '../model-arg.js';
import { countFlag } from '../options.js';
import type { GlobalOptions } from '../program.js';
import { terminalProgress } from '../progress.js';

export interface BenchFlags {
  model: string;
  baseline?: string;
  promptLengths?: string;
  decodeTokens: string;
  repeats: string;
  warmup: string;
  json?: string;
}


function promptLengths(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) <= 0)) {
    throw new UsageError(`--prompt-lengths takes positive whole numbers separated by commas, e.g. 128,512 (got '${value}')`);
  }
  return parts.map(Number);
}

/** The model and the --json folder must exist now, not after minutes of measuring. */
async function checkPaths(flags: BenchFlags): Promise<void> {
  for (const [flag, path] of [['--model', flags.model], ['--baseline', flags.baseline]] as const) {
    if (path === undefined || namedBuiltinModel(path)) continue;
    await access(path).catch(() => {
      throw new FileError(path, `not found (${flag})`);
    });
  }
  if (flags.json === undefined) return;
  const folder = dirname(resolve(flags.json));
  await access(folder).catch(() => {
    throw new FileError(folder, 'folder not found (for --json)');
  });
}

export async function benchCommand(flags: BenchFlags, global: GlobalOptions): Promise<void> {
  const request = {
    model: flags.model,
    baseline: flags.baseline,
    promptLengths: promptLengths(flags.promptLengths),
    decodeTokens: countFlag('--decode-tokens', flags.decodeTokens, 1),
    repeats: countFlag('--repeats', flags.repeats, 1),
    warmup: countFlag('--warmup', flags.warmup, 0),
    session: { device: parseDevice(global.device), threads: global.threads },
  };
  await checkPaths(flags);
  for (const model of [flags.model, flags.baseline]) if (model !== undefined) await prepareModel(model);
  const { record, notes } = await runBench(request, terminalProgress());
  for (const line of benchTable(record)) console.log(line);
  for (const note of notes) console.log(`note: ${note}`);
  if (flags.json) {
    try {
      await writeFileAtomic(flags.json, stableJson(record));
    } catch (error) {
      throw new FileError(flags.json, `cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    console.log(`\nspeed record written to ${flags.json}`);
  }
}
