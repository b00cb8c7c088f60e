/**
 * bench/finetune: what recovery fine-tuning buys on a real model, and how fast it trains.
 *
 *   node --import tsx bench/finetune.ts [--steps 40] [--configs amp-20-lsq-kd,...] [--mc-limit 0] [--threads N]
 *   node --import tsx bench/finetune.ts --throughput [--steps 6] [--threads N]
 *   node --import tsx bench/finetune.ts --quick
 *
 * Quality (default): SmolLM2-135M-Instruct pruned with AMP (uniform, the tool's default calibration
 * pinned: 50 x 128-token windows of the built-in text, seed 0) with and without the training-free
 * repair, then `amp-prune finetune` on ../shared/data/alpaca/alpaca_5000.json (LoRA r=8, alpha=16 on
 * the seven projections, lr 3e-4 cosine, 2048 tokens per step in 512-token sequences), distilled
 * from the dense model (kd) or on next-token cross-entropy (ce). WikiText-2 perplexity before and
 * after on 3 x 2048-token windows (the README's quality table) and 2 x 1024 (the windows of the
 * PyTorch + peft figure the issue quotes); with --mc-limit N also the seven zero-shot tasks on their
 * first N items. gap closed = (ppl_pruned − ppl_tuned) / (ppl_pruned − ppl_dense). The curve: finetune's
 * --eval-every 10 on a held-out slice of WikiText-2 test (its first 16 000 characters, a different
 * slice of text than the windows above only in length: the curve shows the trend, the table the figure).
 * Resumable: pruned and tuned models and eval records are cached under .cache/bench/finetune/, and
 * bench/results/finetune.json is rewritten after every configuration.
 *
 * Throughput (--throughput): tokens/s of LoRA distillation steps, ours (the CLI as a child) against
 * PyTorch + peft (bench/python/finetune_peft.py), same model (AMP 20%, repaired), teacher, step shape
 * (4 micro-batches of one 512-token sequence), threads; the first step is left out of both (graph
 * building / warm-up); peak RSS of both processes.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runEval } from '../src/eval/run.js';
import { AMP_PRUNE_FILE, readAmpPruneRecord } from '../src/export/amp-prune-record.js';
import { tasksByName } from '../src/eval/registry.js';
import type { EvalRecord } from '../src/eval/run.js';
import { prune } from '../src/prune/prune.js';
import { ALPACA, DATA, FIXTURES, fixed, isMain, machine, printTable, runCli, runPythonJson, writeResult } from './common.js';
import { realModel, REPO_ROOT } from './real-model.js';

const MC_TASKS = 'piqa,hellaswag,winogrande,arc_easy,arc_challenge,boolq,openbookqa';
const HEADLINE_TASKS = ['piqa', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge'];
interface Windows {
  name: string;
  limit: number;
  ctx: number;
}
/** WikiText-2 window settings: the README table's, and the quoted PyTorch + peft run's. */
const WIKITEXT: readonly Windows[] = [
  { name: 'wt3x2048', limit: 3, ctx: 2048 },
  { name: 'wt2x1024', limit: 2, ctx: 1024 },
];
/** The same code path on a fixture whose positions stop at 128. */
const WIKITEXT_QUICK: readonly Windows[] = [
  { name: 'wt3x2048', limit: 3, ctx: 128 },
  { name: 'wt2x1024', limit: 2, ctx: 64 },
];

interface Config {
  name: string;
  ratio: number;
  recover: 'none' | 'lsq';
  loss: 'kd' | 'ce';
}

/** Most informative first: the default pipeline at 20/30%, then without the repair, then CE. */
const CONFIGS: readonly Config[] = [
  { name: 'amp-20-lsq-kd', ratio: 0.2, recover: 'lsq', loss: 'kd' },
  { name: 'amp-30-lsq-kd', ratio: 0.3, recover: 'lsq', loss: 'kd' },
  { name: 'amp-20-none-kd', ratio: 0.2, recover: 'none', loss: 'kd' },
  { name: 'amp-20-lsq-ce', ratio: 0.2, recover: 'lsq', loss: 'ce' },
  { name: 'amp-30-none-kd', ratio: 0.3, recover: 'none', loss: 'kd' },
  { name: 'amp-30-lsq-ce', ratio: 0.3, recover: 'lsq', loss: 'ce' },
];

interface Quality {
  wikitext: Record<string, number>;
  average5?: number;
  tasks?: Record<string, number>;
}

interface TrainRun {
  seconds: number;
  maxRssMiB: number;
  steps: number;
  tokens: number;
  lossFirst: number;
  lossLast: number;
  lossCurve: number[];
  trainSeconds: number;
  /** Held-out WikiText-2 perplexity every EVAL_EVERY steps (step 0 = the pruned model). */
  curve: { step: number; tokens: number; ppl: number }[];
}

interface FinetuneJson {
  steps: number;
  tokens: number;
  lossFirst: number;
  lossLast: number;
  trainSeconds: number;
  stepSeconds: number[];
  stepTokens: number[];
  evals: { step: number; tokens: number; ppl: number }[];
}

const EVAL_EVERY = 10;

/** The curve's held-out text: the start of WikiText-2 test as plain text. */
async function curveText(s: Settings): Promise<string> {
  const file = join(s.work, 'wikitext2-heldout.txt');
  if (!existsSync(file)) await writeFile(file, (await readFile(join(s.dataDir, 'wikitext2', 'test.txt'), 'utf8')).slice(0, 16000));
  return file;
}

interface Settings {
  work: string;
  steps: number;
  mcLimit: number;
  threads: number;
  dataDir: string;
  wikitext: readonly Windows[];
}

async function cachedJson<T>(file: string, make: () => Promise<T>): Promise<T> {
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as T;
  const value = await make();
  await writeFile(file, JSON.stringify(value, null, 2) + '\n');
  return value;
}

async function prunedModel(base: string, c: Config, s: Settings): Promise<string> {
  const dir = join(s.work, `amp-${Math.round(c.ratio * 100)}-${c.recover}`, 'model');
  if (existsSync(join(dir, AMP_PRUNE_FILE))) return dir;
  await mkdir(join(dir, '..'), { recursive: true });
  await prune({
    model: base,
    out: dir,
    ratio: c.ratio,
    method: 'amp',
    allocation: 'uniform',
    gqa: 'group',
    align: 1,
    skipLayers: [],
    // pinned, so cached models stay valid if the tool's defaults move
    calibSamples: 50,
    calibSeqLen: 128,
    recover: c.recover,
    seed: 0,
    dryRun: false,
    force: true,
    session: { threads: s.threads },
  });
  return dir;
}

async function quality(dir: string, key: string, s: Settings): Promise<Quality> {
  await mkdir(join(s.work, 'evals'), { recursive: true });
  return cachedJson(join(s.work, 'evals', `${key}-mc${s.mcLimit}.json`), async () => {
    const session = { threads: s.threads };
    const wikitext: Record<string, number> = {};
    for (const w of s.wikitext) {
      const record: EvalRecord = (await runEval({ model: dir, tasks: tasksByName('wikitext2'), dataDir: s.dataDir, limit: w.limit, contextLength: w.ctx, session })).record;
      wikitext[w.name] = record.tasks.wikitext2.metrics.token_perplexity.value;
    }
    if (s.mcLimit === 0) return { wikitext };
    const mc = (await runEval({ model: dir, tasks: tasksByName(MC_TASKS), dataDir: s.dataDir, limit: s.mcLimit, session })).record;
    const tasks = Object.fromEntries(Object.entries(mc.tasks).map(([name, t]) => [name, t.metrics[t.primary_metric].value]));
    return { wikitext, tasks, average5: HEADLINE_TASKS.reduce((a, n) => a + tasks[n], 0) / HEADLINE_TASKS.length };
  });
}

async function finetuned(pruned: string, dense: string, c: Config, s: Settings, data: string): Promise<{ dir: string; run: TrainRun }> {
  const root = join(s.work, `${c.name}-${s.steps}`);
  const dir = join(root, 'model');
  await mkdir(root, { recursive: true });
  const run = await cachedJson(join(root, 'run.json'), async (): Promise<TrainRun> => {
    const child = await runCli([
      'finetune', '--model', pruned, '--out', dir, '--data', data, '--steps', String(s.steps),
      '--batch-tokens', '2048', '--seq-len', '512', '--seed', '0', '--force', '--json',
      '--eval-every', String(EVAL_EVERY), '--eval-data', await curveText(s),
      ...(c.loss === 'kd' ? ['--teacher', dense] : []),
    ], s.threads);
    const summary = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as FinetuneJson;
    const record = await readAmpPruneRecord(join(dir, AMP_PRUNE_FILE));
    if (!record.finetune) throw new Error(`${dir}: finetune wrote no finetune record`);
    return {
      seconds: child.seconds,
      maxRssMiB: child.maxRssMiB,
      steps: summary.steps,
      tokens: summary.tokens,
      lossFirst: summary.lossFirst,
      lossLast: summary.lossLast,
      lossCurve: record.finetune.lossCurve,
      trainSeconds: summary.trainSeconds,
      curve: summary.evals.map(({ step, tokens, ppl }) => ({ step, tokens, ppl })),
    };
  });
  return { dir, run };
}

async function qualitySuite(s: Settings, wanted: readonly string[] | undefined, quick: boolean): Promise<void> {
  const dense = quick ? join(FIXTURES, 'smollm') : await realModel();
  await mkdir(s.work, { recursive: true });
  const host = await machine(s.threads);
  const denseQuality = await quality(dense, 'dense', s);
  const rows: Record<string, unknown>[] = [];
  const table: string[][] = [['config', 'ppl 3x2048: pruned -> tuned (dense)', 'gap closed', 'x dense', 'ppl 2x1024', 'avg5', 'train s', 'loss', 'held-out ppl every 10 steps']];
  for (const c of CONFIGS.filter((x) => !wanted || wanted.includes(x.name))) {
    const started = performance.now();
    const pruned = await prunedModel(dense, c, s);
    const before = await quality(pruned, `amp-${Math.round(c.ratio * 100)}-${c.recover}`, s);
    const { dir, run } = await finetuned(pruned, dense, c, s, ALPACA);
    const after = await quality(dir, `${c.name}-${s.steps}`, s);
    const gap = (w: string) => (before.wikitext[w] - after.wikitext[w]) / (before.wikitext[w] - denseQuality.wikitext[w]);
    rows.push({
      config: c,
      steps: s.steps,
      dense: denseQuality,
      pruned: before,
      finetuned: after,
      gap_closed: Object.fromEntries(s.wikitext.map((w) => [w.name, gap(w.name)])),
      times_dense: Object.fromEntries(s.wikitext.map((w) => [w.name, after.wikitext[w.name] / denseQuality.wikitext[w.name]])),
      train: run,
    });
    const avg = (q: Quality) => (q.average5 === undefined ? '-' : fixed(100 * q.average5, 1));
    table.push([
      c.name,
      `${fixed(before.wikitext.wt3x2048, 1)} -> ${fixed(after.wikitext.wt3x2048, 1)} (${fixed(denseQuality.wikitext.wt3x2048, 1)})`,
      fixed(gap('wt3x2048')),
      fixed(after.wikitext.wt3x2048 / denseQuality.wikitext.wt3x2048),
      `${fixed(before.wikitext.wt2x1024, 1)} -> ${fixed(after.wikitext.wt2x1024, 1)}`,
      `${avg(before)} -> ${avg(after)} (${avg(denseQuality)})`,
      fixed(run.seconds, 0),
      `${fixed(run.lossFirst, 3)} -> ${fixed(run.lossLast, 3)}`,
      (run.curve ?? []).map((p) => fixed(p.ppl, 0)).join(' '),
    ]);
    console.error(`${c.name}: ${table.at(-1)!.slice(1).join(' | ')} (${fixed((performance.now() - started) / 1000, 0)} s)`);
    if (quick) continue;
    await writeResult('finetune', {
      bench: 'finetune',
      machine: host,
      model: 'SmolLM2-135M-Instruct (the built-in default)',
      settings: {
        steps: s.steps, batch_tokens: 2048, seq_len: 512, lora: 'r 8, alpha 16, q,k,v,o,gate,up,down', lr: '3e-4 cosine, no warmup',
        data: 'alpaca_5000.json (AMP prompt template, loss on responses)', calibration: '50 x 128-token windows of the built-in text, seed 0',
        mc_limit: s.mcLimit, wikitext: s.wikitext,
      },
      rows,
    });
  }
  printTable(table);
}

/** Alpaca's responses as one plain-text stream: every training sequence is a full --seq-len window. */
async function plainStream(dir: string): Promise<string> {
  const file = join(dir, 'alpaca-responses.txt');
  const records = JSON.parse(await readFile(ALPACA, 'utf8')) as { output: string }[];
  await writeFile(file, records.map((r) => r.output.replace(/\s*\n\s*/g, ' ')).join(' ') + '\n');
  return file;
}

async function throughputSuite(s: Settings, quick: boolean): Promise<void> {
  const dense = quick ? join(FIXTURES, 'smollm') : await realModel();
  await mkdir(s.work, { recursive: true });
  const host = await machine(s.threads);
  const c: Config = { name: 'amp-20-lsq', ratio: 0.2, recover: 'lsq', loss: 'kd' };
  const pruned = await prunedModel(dense, c, s);
  const data = await plainStream(s.work);
  const out = join(s.work, 'throughput-out');
  const seqLen = quick ? 64 : 512;
  const ours = await runCli([
    'finetune', '--model', pruned, '--teacher', dense, '--out', out, '--data', data, '--steps', String(s.steps + 1),
    '--batch-tokens', String(4 * seqLen), '--seq-len', String(seqLen), '--force', '--json',
  ], s.threads);
  await rm(out, { recursive: true, force: true });
  const summary = JSON.parse(ours.stdout.trim().split('\n').at(-1)!) as FinetuneJson;
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const oursTps = sum(summary.stepTokens.slice(1)) / sum(summary.stepSeconds.slice(1));
  const py = await runPythonJson<{ versions: Record<string, string>; first_step_seconds: number; step_seconds: number[]; tokens_per_step: number }>(
    'finetune_peft.py', ['--model', pruned, '--teacher', dense, '--steps', String(s.steps), '--micro-batches', '4', '--seq-len', String(seqLen)], s.threads);
  const pyTps = (py.result.tokens_per_step * py.result.step_seconds.length) / sum(py.result.step_seconds);
  printTable([
    ['', 'tokens/s', 'first step s', 'peak RSS MiB'],
    ['amp-prune', fixed(oursTps, 1), fixed(summary.stepSeconds[0], 1), fixed(ours.maxRssMiB, 0)],
    ['PyTorch + peft', fixed(pyTps, 1), fixed(py.result.first_step_seconds, 1), fixed(py.run.maxRssMiB, 0)],
    ['ours / PyTorch', fixed(oursTps / pyTps), '', fixed(ours.maxRssMiB / py.run.maxRssMiB)],
  ]);
  console.log(`goal: ours/PyTorch >= 1.5x tokens/s`);
  if (quick) return;
  await writeResult('finetune-throughput', {
    bench: 'finetune --throughput',
    machine: host,
    model: 'SmolLM2-135M-Instruct pruned 20% (AMP, lsq), teacher: the dense model',
    settings: { steps_timed: s.steps, micro_batches: 4, seq_len: seqLen, lora: 'r 8, alpha 16, seven projections', loss: 'KL(teacher || student), tau 1', python: py.result.versions },
    ours: { tokens_per_second: oursTps, step_seconds: summary.stepSeconds, peak_rss_mib: ours.maxRssMiB },
    pytorch: { tokens_per_second: pyTps, first_step_seconds: py.result.first_step_seconds, step_seconds: py.result.step_seconds, peak_rss_mib: py.run.maxRssMiB },
    ratio: { tokens_per_second: oursTps / pyTps, peak_rss: ours.maxRssMiB / py.run.maxRssMiB },
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      throughput: { type: 'boolean', default: false },
      steps: { type: 'string' },
      configs: { type: 'string' },
      'mc-limit': { type: 'string', default: '0' },
      threads: { type: 'string' },
    },
  });
  const quick = values.quick!;
  const settings: Settings = {
    work: join(REPO_ROOT, '.cache', 'bench', quick ? 'finetune-quick' : 'finetune'),
    steps: Number(values.steps ?? (values.throughput ? 6 : quick ? 2 : 40)),
    mcLimit: Number(values['mc-limit']),
    threads: Number(values.threads ?? os.availableParallelism()),
    dataDir: DATA,
    wikitext: quick ? WIKITEXT_QUICK : WIKITEXT,
  };
  if (quick) {
    // a smoke run of both suites' code on a tiny fixture: nothing written to bench/results
    await rm(settings.work, { recursive: true, force: true });
    await qualitySuite(settings, ['amp-20-lsq-kd'], true);
    await throughputSuite(settings, true);
    return;
  }
  if (values.throughput) await throughputSuite(settings, false);
  else await qualitySuite(settings, values.configs?.split(','), false);
}

if (isMain(import.meta.url)) await main();
