/** `amp-prune finetune`: flags -> FinetuneRequest -> finetune() -> one-line summary (or JSON). */
import cliProgress from 'cli-progress';
import { parseDevice } from '../../engine/session.js';
import { UsageError } from '../../errors.js';
import { finetune } from '../../finetune/finetune.js';
import { parseTargets } from '../../finetune/lora.js';
import { SCHEDULES } from '../../finetune/schedule.js';
import type { Schedule } from '../../finetune/schedule.js';
import type { GlobalOptions } from '../program.js';
import { deferInterrupts } from '../interrupt.js';

export interface FinetuneFlags {
  model: string;
  out: string;
  data: string;
  teacher?: string;
  steps?: number;
  tokens?: number;
  loraRank: number;
  loraAlpha: number;
  targets: string;
  lr: number;
  warmup: number;
  schedule: string;
  weightDecay: number;
  gradClip: number;
  batchTokens: number;
  seqLen: number;
  seed: number;
  temperature: number;
  ceMix: number;
  saveAdapter?: string;
  checkpointEvery?: number;
  checkpointDir?: string;
  resume?: boolean;
  force?: boolean;
  json?: boolean;
}

/** A bar on stderr (terminals only) with the step's loss, training tokens/s and ETA. */
function trainingBar() {
  if (!process.stderr.isTTY) return { start() {}, step() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: 'finetune [{bar}] {value}/{total} steps | loss {loss} | {tps} tok/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 10 },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let tokens = 0;
  return {
    start(total: number, done: number) {
      started = performance.now();
      bar.start(total, done, { loss: '-', tps: '-' });
    },
    step(loss: number, stepTokens: number) {
      tokens += stepTokens;
      const seconds = (performance.now() - started) / 1000;
      bar.increment(1, { loss: loss.toFixed(4), tps: (tokens / seconds).toFixed(0) });
    },
    stop() {
      bar.stop();
    },
  };
}

export async function finetuneCommand(flags: FinetuneFlags, global: GlobalOptions): Promise<void> {
  if (!(SCHEDULES as readonly string[]).includes(flags.schedule)) throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')} (got '${flags.schedule}')`);
  if (flags.ceMix < 0 || flags.ceMix > 1) throw new UsageError(`--ce-mix must be in [0, 1] (got ${flags.ceMix})`);
  if (flags.ceMix > 0 && !flags.teacher) throw new UsageError('--ce-mix mixes cross-entropy into distillation: it needs --teacher');
  if (flags.steps !== undefined && flags.tokens !== undefined) throw new UsageError('give --steps or --tokens, not both');
  const bar = trainingBar();
  // The first SIGINT/SIGTERM stops after the current step and saves a resumable checkpoint;
  // a second one ends the process at once (nothing is written to --out either way).
  let stopRequested = false;
  const undefer = deferInterrupts((signal) => {
    stopRequested = true;
    process.stderr.write(`\n${signal}: stopping after this step and saving the training state\n`);
  });
  let summary;
  try {
    summary = await finetune({
      model: flags.model,
      out: flags.out,
      data: flags.data,
      teacher: flags.teacher,
      steps: flags.steps,
      tokens: flags.tokens,
      lora: { rank: flags.loraRank, alpha: flags.loraAlpha, targets: parseTargets(flags.targets) },
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
      adapterDir: flags.saveAdapter,
      checkpointEvery: flags.checkpointEvery,
      checkpointDir: flags.checkpointDir,
      resume: flags.resume,
      shouldStop: () => stopRequested,
      force: flags.force,
      session: { device: parseDevice(global.device), threads: global.threads },
      onStart: (steps, done) => bar.start(steps, done),
      onStep: (r) => bar.step(r.loss, r.tokens),
    });
  } finally {
    bar.stop();
    undefer();
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ out: flags.out, adapter: flags.saveAdapter ?? null, steps: summary.steps, tokens: summary.tokens, labelledTokens: summary.labelledTokens, lossFirst: summary.lossFirst, lossLast: summary.lossLast, trainSeconds: summary.stepSeconds.reduce((a, b) => a + b, 0), stepSeconds: summary.stepSeconds, stepTokens: summary.stepTokens })}\n`);
  } else {
    process.stdout.write(`fine-tuned ${summary.steps} steps on ${summary.tokens} tokens: loss ${summary.lossFirst.toFixed(4)} -> ${summary.lossLast.toFixed(4)}; wrote ${flags.out}${flags.saveAdapter ? ` and adapter ${flags.saveAdapter}` : ''}\n`);
  }
}
