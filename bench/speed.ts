/**
 * bench/speed: does pruning buy speed? Dense SmolLM2-135M vs AMP-pruned copies at 20/30/50% of
 * parameters removed: prefill and decode tokens/s ratios next to the FLOP ratio.
 * Goal: speedup ≥ 0.9 × (dense FLOPs / pruned FLOPs).
 *
 *   node --import tsx bench/speed.ts [--repeats 5] [--threads N]
 *
 * Pruned models come from bench/quality's cache (.cache/bench/quality/amp-{20,30,50}/model) or are
 * made here the same way (AMP, uniform, first 50 Alpaca prompts).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runBench } from '../src/bench/run.js';
import type { SpeedRecord } from '../src/bench/record.js';
import { AMP_PRUNE_FILE } from '../src/export/amp-prune-record.js';
import { prune } from '../src/prune/prune.js';
import { realModel, REPO_ROOT } from './real-model.js';

const { values: args } = parseArgs({ options: { repeats: { type: 'string', default: '5' }, threads: { type: 'string' } } });
const RATIOS = [0.2, 0.3, 0.5];
const PROMPTS = [128, 512, 2048];
const threads = args.threads ? Number(args.threads) : undefined;

async function prunedModel(base: string, ratio: number): Promise<string> {
  const dir = join(REPO_ROOT, '.cache', 'bench', 'quality', `amp-${ratio * 100}`, 'model');
  if (existsSync(join(dir, AMP_PRUNE_FILE))) return dir;
  await mkdir(join(dir, '..'), { recursive: true });
  const calib = join(REPO_ROOT, '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');
  await prune({ model: base, out: dir, ratio, method: 'amp', allocation: 'uniform', gqa: 'group', align: 1, skipLayers: [], calib, calibSamples: 50, seed: 0, dryRun: false, force: true, session: { threads } });
  return dir;
}

const base = await realModel();
const rows: { ratio: number; record: SpeedRecord }[] = [];
for (const ratio of RATIOS) {
  const model = await prunedModel(base, ratio);
  console.error(`measuring amp-${ratio * 100} against dense ...`);
  const { record } = await runBench({ model, baseline: base, promptLengths: PROMPTS, decodeTokens: 64, repeats: Number(args.repeats), warmup: 1, session: { threads } });
  rows.push({ ratio, record });
}

const f2 = (x: number) => x.toFixed(2);
console.log('| removed | FLOP ratio | goal (0.9×) | ' + PROMPTS.map((p) => `prefill ${p}`).join(' | ') + ' | decode |');
console.log('|---|---|---|' + PROMPTS.map(() => '---').join('|') + '|---|');
for (const { ratio, record } of rows) {
  const r = record.ratios!;
  const cells = [`${ratio * 100}%`, f2(r.flop_ratio), f2(0.9 * r.flop_ratio), ...PROMPTS.map((p) => `${f2(r.prefill_tokens_per_s[String(p)])}x`), `${f2(r.decode_tokens_per_s)}x`];
  console.log(`| ${cells.join(' | ')} |`);
}
await writeFile(
  join(REPO_ROOT, 'bench', 'results', 'speed.json'),
  JSON.stringify({ date: new Date().toISOString(), host: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, load_average_at_end: os.loadavg() }, threads: threads ?? null, rows }, null, 2) + '\n',
);
