/**
 * `finetune`: LoRA recovery training of a (pruned) model, optionally distilled from a teacher (the
 * dense model), then the adapters merged into the weights and written as a standard checkpoint in
 * the input's dtype, with a finetune record in amp_prune.json; optionally the adapters as a peft
 * folder too. Outputs are staged and renamed into place; the input is never modified.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { openCheckpoint } from '../engine/checkpoint.js';
import type { SessionOptions } from '../engine/session.js';
import { UserError } from '../errors.js';
import { readRecordBeside } from '../export/amp-prune-record.js';
import type { AmpPruneRecord, FinetuneRecord } from '../export/amp-prune-record.js';
import { StagedFolder } from '../export/staged-folder.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { writePrunedCheckpoint } from '../prune/write-pass.js';
import { loadTrainingData, StepSampler } from './data.js';
import { GradientEngine } from './gradients.js';
import { evalDue, HeldOutEval, heldOutSet } from './held-out-eval.js';
import type { EvalPoint } from './held-out-eval.js';
import { initLora, mergedLayerWeights } from './lora.js';
import type { LoraConfig } from './lora.js';
import { loadModelWeights } from './model-weights.js';
import { writePeftAdapter } from './peft-adapter.js';
import type { Schedule } from './schedule.js';
import { loraParams, Trainer } from './trainer.js';
import { loadTrainState, saveTrainState } from './train-state.js';
import type { TrainProgress } from './train-state.js';
import type { StepResult } from './trainer.js';

export interface FinetuneRequest {
  model: string;
  out: string;
  data: string;
  teacher?: string;
  /** Optimizer steps; default: enough for `tokens`, or one pass over the data. */
  steps?: number;
  tokens?: number;
  lora: LoraConfig;
  lr: number;
  warmup: number;
  schedule: Schedule;
  weightDecay: number;
  gradClip: number;
  /** Tokens per optimizer step (accumulated over micro-batches). */
  batchTokens: number;
  /** Longest training sequence, and the padded size of one micro-batch. */
  seqLen: number;
  seed: number;
  temperature: number;
  ceMix: number;
  /** Also write the adapters as a peft folder here. */
  adapterDir?: string;
  force?: boolean;
  /** Save a resumable training checkpoint every N steps (0 = only when stopped). */
  checkpointEvery?: number;
  /** Where the training checkpoint goes; default `<out>.train-state`. Deleted once the output is written. */
  checkpointDir?: string;
  /** Continue from the checkpoint in checkpointDir. */
  resume?: boolean;
  /** Held-out loss and perplexity every N steps (and before the first and after the last). */
  evalEvery?: number;
  /** Held-out data for evalEvery (formats as `data`); default: the last sequences of `data` (splitHeldOut), not trained on. */
  evalData?: string;
  /** How the finetune record names the base model (default: `model`). */
  baseName?: string;
  /** Polled after every step: true = save the checkpoint and stop (SIGINT / SIGTERM). */
  shouldStop?: () => boolean;
  session?: SessionOptions;
  onStart?: (steps: number, done: number) => void;
  onStep?: (result: StepResult, step: number) => void;
  onEval?: (point: EvalPoint) => void;
}

export interface FinetuneSummary {
  steps: number;
  tokens: number;
  labelledTokens: number;
  lossFirst: number;
  lossLast: number;
  evals: EvalPoint[];
  /** Wall seconds and real tokens of each optimizer step this run took (not in the record: outputs stay byte-identical). */
  stepSeconds: number[];
  stepTokens: number[];
  record: AmpPruneRecord;
}

/** Training was stopped on request; its state is saved for --resume. */
export class TrainingInterrupted extends UserError {
  constructor(
    readonly step: number,
    readonly steps: number,
    readonly checkpointDir: string,
  ) {
    super(`interrupted after step ${step} of ${steps}; training state saved in ${checkpointDir}; run the same command with --resume to continue`);
    this.name = 'TrainingInterrupted';
  }
}

export const defaultCheckpointDir = (out: string): string => `${out.replace(/[\\/]+$/, '')}.train-state`;

export async function finetune(req: FinetuneRequest): Promise<FinetuneSummary> {
  const student = await loadModelWeights(req.model);
  const spec = student.weights.spec;
  const teacher = req.teacher ? await loadModelWeights(req.teacher) : undefined;
  if (teacher && teacher.weights.spec.vocab !== spec.vocab) {
    throw new UserError(`--teacher ${req.teacher}: vocabulary ${teacher.weights.spec.vocab} differs from the model's ${spec.vocab}; distillation needs the same tokenizer`);
  }
  const tokenizer = await loadTokenizer(req.model);
  const inputRecord = await readRecordBeside(req.model); // a broken one fails here, before any training
  const data = await loadTrainingData(req.data, tokenizer, req.seqLen);
  const evalSet = req.evalEvery ? await heldOutSet(data, req.evalData, tokenizer, req.seqLen) : undefined;
  const trainExamples = evalSet?.train ?? data.examples;
  const dataTokens = trainExamples.reduce((n, e) => n + e.ids.length, 0);
  const steps = req.steps ?? Math.max(1, Math.ceil((req.tokens ?? dataTokens) / req.batchTokens));
  const lora = initLora(spec, req.lora, req.seed);

  const checkpointDir = req.checkpointDir ?? defaultCheckpointDir(req.out);
  const fingerprint = {
    model: path.resolve(req.model),
    data: data.sha256,
    teacher: req.teacher ? path.resolve(req.teacher) : null,
    temperature: req.temperature,
    ceMix: req.ceMix,
    lora: { rank: req.lora.rank, alpha: req.lora.alpha, targets: [...req.lora.targets] },
    // only when set, so checkpoints saved before dropout existed still resume
    ...(req.lora.dropout ? { loraDropout: req.lora.dropout } : {}),
    optimizer: { lr: req.lr, warmup: req.warmup, schedule: req.schedule, weightDecay: req.weightDecay, gradClip: req.gradClip },
    batchTokens: req.batchTokens,
    seqLen: req.seqLen,
    seed: req.seed,
    steps,
    ...(evalSet ? { eval: { every: req.evalEvery, data: evalSet.describe } } : {}),
  };
  const params = loraParams(lora);
  let progress: TrainProgress = { step: 0, tokens: 0, labelled: 0, curve: [] };
  let optimizerState;
  if (req.resume) ({ progress, optimizer: optimizerState } = await loadTrainState(checkpointDir, fingerprint, params));

  const engine = new GradientEngine(student.weights, lora, {
    loss: { temperature: req.temperature, ceMix: req.ceMix },
    teacher: teacher?.weights,
    session: req.session,
  });
  const trainer = new Trainer(engine, lora, { lr: req.lr, warmup: req.warmup, schedule: req.schedule, totalSteps: steps, weightDecay: req.weightDecay, gradClip: req.gradClip }, optimizerState);
  const sampler = new StepSampler(trainExamples, req.batchTokens, req.seqLen, req.seed);
  const heldOut = evalSet ? new HeldOutEval(engine, evalSet.heldOut, req.seqLen, tokenizer.padId ?? 0) : undefined;
  const evaluate = async () => {
    if (!heldOut) return;
    const point = await heldOut.measure(progress.step, progress.tokens);
    progress = { ...progress, evals: [...(progress.evals ?? []), point] };
    req.onEval?.(point);
  };
  for (let s = 0; s < progress.step; s++) sampler.nextStep(); // the seeded order, replayed up to where the run stopped
  const save = () => saveTrainState(checkpointDir, { fingerprint, progress, params, optimizer: trainer.optimizer.state });
  req.onStart?.(steps, progress.step);
  const stepSeconds: number[] = [];
  const stepTokens: number[] = [];
  try {
    if (progress.step === 0) await evaluate();
    while (progress.step < steps) {
      const started = performance.now();
      const result = await trainer.step(sampler.nextStep(), tokenizer.padId ?? 0, req.seed);
      stepSeconds.push((performance.now() - started) / 1000);
      stepTokens.push(result.tokens);
      progress = { ...progress, step: progress.step + 1, tokens: progress.tokens + result.tokens, labelled: progress.labelled + result.labelled, curve: [...progress.curve, result.loss] };
      req.onStep?.(result, progress.step);
      if (req.evalEvery && evalDue(progress.step, steps, req.evalEvery)) await evaluate();
      if (progress.step < steps && req.shouldStop?.()) {
        await save();
        throw new TrainingInterrupted(progress.step, steps, checkpointDir);
      }
      if (req.checkpointEvery && progress.step % req.checkpointEvery === 0 && progress.step < steps) await save();
    }
  } finally {
    await engine.close();
  }
  const { curve, tokens, labelled } = progress;
  const evals = progress.evals ?? [];

  const finetuneRecord: FinetuneRecord = {
    base: req.baseName ?? req.model,
    data: { source: data.source, format: data.format, sha256: data.sha256, records: data.records, sequences: trainExamples.length },
    teacher: req.teacher ? { model: req.teacher, temperature: req.temperature, ceMix: req.ceMix } : null,
    loss: req.teacher ? 'kd' : 'ce',
    lora: { rank: req.lora.rank, alpha: req.lora.alpha, dropout: req.lora.dropout ?? 0, targets: [...req.lora.targets] },
    optimizer: { name: 'adamw', lr: req.lr, warmup: req.warmup, schedule: req.schedule, weightDecay: req.weightDecay, gradClip: req.gradClip },
    batchTokens: req.batchTokens,
    seqLen: req.seqLen,
    seed: req.seed,
    steps,
    tokens,
    labelledTokens: labelled,
    lossCurve: curve,
    ...(evalSet ? { eval: { every: req.evalEvery!, data: evalSet.describe, labelledTokens: heldOut!.labelled, points: evals } } : {}),
  };
  // the input's own record (how it was pruned) is kept, with the training added
  const record: AmpPruneRecord = { ...inputRecord, finetune: finetuneRecord };

  const checkpoint = await openCheckpoint(req.model);
  const adapterFolder = req.adapterDir ? await StagedFolder.create(req.adapterDir, { force: req.force, inputDir: req.model }) : undefined;
  try {
    const identity = spec.layers.map((l) => ({
      heads: [...Array(l.heads).keys()],
      kvHeads: [...Array(l.kvHeads).keys()],
      neurons: [...Array(l.intermediate).keys()],
    }));
    await writePrunedCheckpoint(checkpoint, {
      outDir: req.out,
      force: req.force ?? false,
      outConfig: checkpoint.config,
      plans: identity,
      layerTensors: async (i) => {
        const merged = mergedLayerWeights(student.weights.layers[i], lora.layers[i], lora.config);
        return new Map(lora.layers[i].flatMap((ad) => ad.parts.map((p) => [p.weight, merged.get(p.weight)!] as const)));
      },
      json: () => record,
    });
    if (adapterFolder) {
      await writePeftAdapter(adapterFolder.stagingDir, lora, req.model);
      await adapterFolder.commit();
    }
  } catch (error) {
    await adapterFolder?.discard();
    throw error;
  } finally {
    await checkpoint.store.close();
  }
  await rm(checkpointDir, { recursive: true, force: true }); // the output holds everything now
  return { steps, tokens, labelledTokens: labelled, lossFirst: curve[0], lossLast: curve[curve.length - 1], evals, stepSeconds, stepTokens, record };
}
