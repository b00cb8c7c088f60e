/**
 * Optimizer steps over LoRA adapters: each step sums the gradients of its micro-batches (the loss
 * is the mean over every labelled token of the step, so accumulation changes nothing but memory),
 * clips their global norm, and takes one AdamW step at the scheduled learning rate.
 */
import { padBatch } from '../engine/batch.js';
import type { TokenBatch } from '../engine/batch.js';
import { AdamW, ADAMW_DEFAULTS, clipGradNorm } from './adamw.js';
import type { AdamWState } from './adamw.js';
import { mixSeed } from './dropout.js';
import type { GradientEngine } from './gradients.js';
import { zeroGrads } from './gradients.js';
import type { LoraState } from './lora.js';
import { lrFactor } from './schedule.js';
import type { Schedule } from './schedule.js';
import { labelledCount, nextTokenTargets } from './targets.js';

/** One training sequence: token ids and which of them the loss predicts. */
export interface TrainingExample {
  ids: number[];
  /** 1 = in the loss (same length as ids). */
  labelled: Uint8Array;
}

export interface OptimizerOptions {
  lr: number;
  /** Optimizer steps of linear warmup from 0. */
  warmup: number;
  schedule: Schedule;
  /** Steps the schedule spans. */
  totalSteps: number;
  weightDecay: number;
  /** Maximum global gradient norm; 0 = no clipping. */
  gradClip: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface StepResult {
  /** Mean loss over the step's labelled tokens. */
  loss: number;
  /** Labelled tokens (the loss's denominator) and all real tokens the step ran. */
  labelled: number;
  tokens: number;
  gradNorm: number;
  lr: number;
}

/** A micro-batch as the engine takes it: right-padded ids and the labelled mask laid out the same way. */
export function paddedExamples(examples: readonly TrainingExample[], padId: number): { tokens: TokenBatch; labelled: Uint8Array } {
  const tokens = padBatch(examples.map((e) => e.ids), padId);
  const labelled = new Uint8Array(tokens.ids.length);
  examples.forEach((e, b) => labelled.set(e.labelled, b * tokens.seqLen));
  return { tokens, labelled };
}

/** The adapters' tensors in a fixed order: what the optimizer updates. */
export function loraParams(lora: LoraState): Float32Array[] {
  return lora.layers.flatMap((layer) => layer.flatMap((ad) => [ad.a, ad.b]));
}

export class Trainer {
  readonly optimizer: AdamW;

  constructor(
    private readonly engine: GradientEngine,
    private readonly lora: LoraState,
    private readonly opts: OptimizerOptions,
    state?: AdamWState,
  ) {
    this.optimizer = new AdamW(loraParams(lora), {
      beta1: opts.beta1 ?? ADAMW_DEFAULTS.beta1,
      beta2: opts.beta2 ?? ADAMW_DEFAULTS.beta2,
      eps: opts.eps ?? ADAMW_DEFAULTS.eps,
      weightDecay: opts.weightDecay,
    }, state);
  }

  get stepsDone(): number {
    return this.optimizer.state.step;
  }

  /** `seed` keys LoRA dropout's masks together with the step and micro-batch index, so a resumed run draws the same ones. */
  async step(microBatches: readonly (readonly TrainingExample[])[], padId = 0, seed = 0): Promise<StepResult> {
    const batches = microBatches.map((examples) => paddedExamples(examples, padId));
    const labelledTotal = batches.reduce((n, b) => n + labelledCount(b.tokens, b.labelled), 0);
    const tokens = microBatches.reduce((n, mb) => n + mb.reduce((k, e) => k + e.ids.length, 0), 0);
    const grads = zeroGrads(this.lora);
    let loss = 0;
    if (labelledTotal > 0) {
      const weights = await this.engine.stepWeights(); // the adapters change only after the last micro-batch
      for (const [m, b] of batches.entries()) loss += await this.engine.accumulate(b.tokens, nextTokenTargets(b.tokens, b.labelled, 1 / labelledTotal), grads, mixSeed(seed, this.stepsDone, m), weights);
    }
    const flat = grads.flatMap((layer) => layer.flatMap((g) => [g.a, g.b]));
    const gradNorm = this.opts.gradClip > 0 ? clipGradNorm(flat, this.opts.gradClip) : clipGradNorm(flat, Infinity);
    const lr = this.opts.lr * lrFactor(this.opts.schedule, this.stepsDone, this.opts.warmup, this.opts.totalSteps);
    this.optimizer.step(flat, lr);
    return { loss, labelled: labelledTotal, tokens, gradNorm, lr };
  }
}
