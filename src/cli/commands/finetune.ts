/** `amp-prune finetune`: flags -> FinetuneRequest -> finetune() -> one-line summary (or JSON). */
import cliProgress from 'cli-progress';
import { parseDevice } from '../../engine/session.js';
import { UsageError } from '../../errors.js';
import { finetune } from '../../finetune/finetune.js';
import type { FinetuneRequest, FinetuneSummary } from '../../finetune/finetune.js';
import type { EvalPoint } from '../../finetune/held-out-eval.js';
import { parseTargets } from '../../finetune/lora.js';
import type { Schedule } from '../../finetune/schedule.js';
import { trainingFlagName } from '../finetune-options.js';
import type { TrainingFlags } from '../finetune-options.js';
import type { GlobalOptions } from '../program.js';
import { deferInterrupts } from '../interrupt.js';

export interface FinetuneFlags extends TrainingFlags {
  model: string;
  out: string;
  data: string;
  seed: number;
  saveAdapter?: string;
  checkpointEvery?: number;
  checkpointDir?: string;
  resume?: boolean;
  force?: boolean;
  json?: boolean;
}

/** A bar on stderr (terminals only) with the step's loss, training tokens/s, the last held-out perplexity and ETA; without a terminal, held-out points as lines. */
function trainingBar() {
  const evalLine = (p: EvalPoint) => `finetune: step ${p.step}, ${p.tokens} tokens: held-out loss ${p.loss.toFixed(4)}, ppl ${p.ppl.toFixed(2)}\n`;
  if (!process.stderr.isTTY) return { start() {}, step() {}, evaluated: (p: EvalPoint) => void process.stderr.write(evalLine(p)), stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: 'finetune [{bar}] {value}/{total} steps | loss {loss} | held-out ppl {ppl} | {tps} tok/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 10 },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let tokens = 0;
  // training tokens/s leaves out held-out evaluation: the time from the last step to a point
  let lastEvent = 0;
  let evalSeconds = 0;
  return {
    start(total: number, done: number) {
      started = lastEvent = performance.now();
      bar.start(total, done, { loss: '-', tps: '-', ppl: '-' });
    },
    step(loss: number, stepTokens: number) {
      tokens += stepTokens;
      lastEvent = performance.now();
      const seconds = (lastEvent - started) / 1000 - evalSeconds;
      bar.increment(1, { loss: loss.toFixed(4), tps: (tokens / seconds).toFixed(0) });
    },
    evaluated(p: EvalPoint) {
      const now = performance.now();
      evalSeconds += (now - lastEvent) / 1000;
      lastEvent = now;
      bar.update({ ppl: p.ppl.toFixed(2) });
    },
    stop() {
      bar.stop();
    },
  };
}

/** The request the flags describe, checked; `prefix` names the flags in messages as the user typed them (prune's `finetune-`). */
export function finetuneRequest(flags: FinetuneFlags, global: GlobalOptions, prefix = ''): FinetuneRequest {
  const flag = (name: string) => trainingFlagName(name, prefix);
  if (flags.ceMix < 0 || flags.ceMix > 1) throw new UsageError(`${flag('ce-mix')} must be in [0, 1] (got ${flags.ceMix})`);
  if (flags.ceMix > 0 && !flags.teacher) throw new UsageError(`${flag('ce-mix')} mixes cross-entropy into distillation: it needs ${flag('teacher')}`);
  if (flags.steps !== undefined && flags.tokens !== undefined) throw new UsageError(`give ${flag('steps')} or ${flag('tokens')}, not both`);
  if (flags.evalData && !flags.evalEvery) throw new UsageError(`${flag('eval-data')} is read at ${flag('eval-every')} N steps: give both`);
  return {
    model: flags.model,
    out: flags.out,
    data: flags.data,
    teacher: flags.teacher,
    steps: flags.steps,
    tokens: flags.tokens,
    lora: { rank: flags.loraRank, alpha: flags.loraAlpha, dropout: flags.loraDropout, targets: parseTargets(flags.targets) },
    lr: flags.lr,
    warmup: flags.warmup,
    schedule: flags.schedule as Schedule,
    weightDecay: flags.weightDecay,
    gradClip: flags.gradClip,
    batchTokens: flags.batchTokens,
    seqLen: flags.seqLen,
    seed: flags.seed,
    temperature: flags.temperature,
    ceMix: flags.ceMix,
    evalEvery: flags.evalEvery,
    evalData: flags.evalData,
    adapterDir: flags.saveAdapter,
    checkpointEvery: flags.checkpointEvery,
    checkpointDir: flags.checkpointDir,
    resume: flags.resume,
    force: flags.force,
    session: { device: parseDevice(global.device), threads: global.threads },
  };
}

/**
 * Runs the request with the progress bar. Resumable (the default): the first SIGINT/SIGTERM stops
 * after the current step and saves the training state; a second one ends the process at once.
 * Not resumable: a signal interrupts as in any other command (nothing saved). The output is
 * written only by a finished run either way.
 */
export async function runFinetune(request: FinetuneRequest, { resumable = true } = {}): Promise<FinetuneSummary> {
  const bar = trainingBar();
  let stopRequested = false;
  const undefer = resumable
    ? deferInterrupts((signal) => {
        stopRequested = true;
        process.stderr.write(`\n${signal}: stopping after this step and saving the training state\n`);
      })
    : () => {};
  try {
    return await finetune({
      ...request,
      shouldStop: () => stopRequested,
      onStart: (steps, done) => bar.start(steps, done),
      onStep: (r) => bar.step(r.loss, r.tokens),
      onEval: (p) => bar.evaluated(p),
    });
  } finally {
    bar.stop();
    undefer();
  }
}

/** The --json summary of a run. */
export function finetuneJson(request: FinetuneRequest, summary: FinetuneSummary) {
  const { steps, tokens, labelledTokens, lossFirst, lossLast, evals, stepSeconds, stepTokens } = summary;
  const trainSeconds = stepSeconds.reduce((a, b) => a + b, 0);
  return { out: request.out, adapter: request.adapterDir ?? null, steps, tokens, labelledTokens, lossFirst, lossLast, evals, trainSeconds, stepSeconds, stepTokens };
}

/** The one-line summary of a run. */
export function finetuneLine(request: FinetuneRequest, summary: FinetuneSummary): string {
  const last = summary.evals[summary.evals.length - 1];
  const heldOut = last ? `; held-out ppl ${summary.evals[0].ppl.toFixed(2)} -> ${last.ppl.toFixed(2)}` : '';
  return `fine-tuned ${summary.steps} steps on ${summary.tokens} tokens: loss ${summary.lossFirst.toFixed(4)} -> ${summary.lossLast.toFixed(4)}${heldOut}; wrote ${request.out}${request.adapterDir ? ` and adapter ${request.adapterDir}` : ''}`;
}

export async function finetuneCommand(flags: FinetuneFlags, global: GlobalOptions): Promise<void> {
  const request = finetuneRequest(flags, global);
  const summary = await runFinetune(request);
  process.stdout.write(`${flags.json ? JSON.stringify(finetuneJson(request, summary)) : finetuneLine(request, summary)}\n`);
}
