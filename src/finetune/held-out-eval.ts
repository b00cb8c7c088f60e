/**
 * Held-out loss during training (--eval-every): next-token cross-entropy of the student with its
 * adapters merged, over every labelled token of the held-out sequences, on the engine's forward
 * alone. Whatever the training loss (CE or distillation), this is the CE the merged checkpoint
 * would score, so the points of a KD run and a CE run compare.
 */
import { loadTrainingData, microBatches, splitHeldOut } from './data.js';
import type { TokenizerWithEos, TrainingData } from './data.js';
import type { TokenBatch } from '../engine/batch.js';
import type { GradientEngine, LossTargets } from './gradients.js';
import { labelledCount, nextTokenTargets } from './targets.js';
import { paddedExamples } from './trainer.js';
import type { TrainingExample } from './trainer.js';
import type { HeldOutData } from '../export/amp-prune-record.js';

export interface EvalPoint {
  /** Optimizer steps done (0 = before training). */
  step: number;
  /** Training tokens seen so far. */
  tokens: number;
  /** Mean CE per held-out labelled token (nats) and its exp. */
  loss: number;
  ppl: number;
}

/**
 * The held-out sequences and what is left to train on: `evalFile`'s sequences (read as training
 * data is), or the training data's last ones (splitHeldOut). `describe` goes into the record.
 */
export async function heldOutSet(data: TrainingData, evalFile: string | undefined, tokenizer: TokenizerWithEos, seqLen: number): Promise<{ train: TrainingExample[]; heldOut: TrainingExample[]; describe: HeldOutData }> {
  if (evalFile) {
    const held = await loadTrainingData(evalFile, tokenizer, seqLen);
    return { train: data.examples, heldOut: held.examples, describe: { source: held.source, sequences: held.examples.length, fromTrainingData: false, format: held.format, sha256: held.sha256 } };
  }
  const { train, heldOut } = splitHeldOut(data);
  return { train, heldOut, describe: { source: data.source, sequences: heldOut.length, fromTrainingData: true } };
}

export class HeldOutEval {
  private readonly batches: { tokens: TokenBatch; targets: LossTargets }[];
  /** Tokens the loss averages over. */
  readonly labelled: number;

  constructor(
    private readonly engine: GradientEngine,
    readonly examples: readonly TrainingExample[],
    microTokens: number,
    padId: number,
  ) {
    const padded = microBatches(examples, microTokens).map((mb) => paddedExamples(mb, padId));
    this.labelled = padded.reduce((n, b) => n + labelledCount(b.tokens, b.labelled), 0);
    // weight 1 per labelled token: the engine returns the sum, divided here in float64
    this.batches = padded.map((b) => ({ tokens: b.tokens, targets: nextTokenTargets(b.tokens, b.labelled, 1) }));
  }

  async measure(step: number, tokens: number): Promise<EvalPoint> {
    const loss = (await this.engine.evaluate(this.batches)) / this.labelled;
    return { step, tokens, loss, ppl: Math.exp(loss) };
  }
}

/** Whether a point is due after `step` of `steps`: every `every` steps, and at the end. */
export const evalDue = (step: number, steps: number, every: number): boolean => step % every === 0 || step === steps;
