/**
 * Training data: a file read as calibration files are (Alpaca JSON, JSON Lines with `text`, plain
 * text; same format detection and one-line errors), turned into token sequences with the tokens
 * the loss predicts marked, and a seeded plan of which sequences each optimizer step takes.
 *
 * Alpaca records use the AMP authors' fine-tuning prompt (RECOVERY.md section 2) and put only the
 * response (and EOS) in the loss; other texts are cut into --seq-len pieces, every token in the loss.
 */
import { readFile } from 'node:fs/promises';
import { loadCalibrationFile } from '../calib/load-file.js';
import { mulberry32, randomBelow } from '../calib/prng.js';
import type { CalibrationFormat, CalibrationTokenizer } from '../calib/types.js';
import { FileError } from '../errors.js';
import type { TrainingExample } from './trainer.js';

export interface AlpacaExample {
  instruction: string;
  input: string;
  output: string;
}

/** The prompt of the AMP authors' fine_tune.py (Stanford Alpaca's), without the Input block when the input is empty. */
export function alpacaTrainingPrompt({ instruction, input }: Pick<AlpacaExample, 'instruction' | 'input'>): string {
  return input === ''
    ? `Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n${instruction}\n\n### Response:\n`
    : `Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n${instruction}\n\n### Input:\n${input}\n\n### Response:\n`;
}

export interface TrainingData {
  source: string;
  format: CalibrationFormat;
  sha256: string;
  /** Records (Alpaca) or texts in the file. */
  records: number;
  examples: TrainingExample[];
}

export interface TokenizerWithEos extends CalibrationTokenizer {
  readonly eosId: number | undefined;
}

export async function loadTrainingData(file: string, tokenizer: TokenizerWithEos, seqLen: number): Promise<TrainingData> {
  const corpus = await loadCalibrationFile(file); // validates the file and finds its format
  const examples: TrainingExample[] = [];
  if (corpus.format === 'alpaca') {
    const records = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>[];
    records.forEach((r, i) => {
      if (typeof r.output !== 'string') throw new FileError(file, `record ${i + 1}: no string "output" (fine-tuning learns the response)`);
      const prompt = alpacaTrainingPrompt({ instruction: r.instruction as string, input: typeof r.input === 'string' ? r.input : '' });
      const promptLen = tokenizer.encode(prompt).length;
      const ids = tokenizer.encode(prompt + r.output);
      if (tokenizer.eosId !== undefined) ids.push(tokenizer.eosId);
      const cut = ids.slice(0, seqLen);
      if (cut.length <= promptLen) return; // the response does not fit: nothing to learn from this record
      const labelled = new Uint8Array(cut.length);
      labelled.fill(1, promptLen);
      examples.push({ ids: cut, labelled });
    });
  } else {
    for (const text of corpus.texts) {
      const ids = tokenizer.encode(text);
      for (let start = 0; start < ids.length; start += seqLen) {
        const piece = ids.slice(start, start + seqLen);
        if (piece.length < 2) continue;
        examples.push({ ids: piece, labelled: new Uint8Array(piece.length).fill(1) });
      }
    }
  }
  if (examples.length === 0) throw new FileError(file, `no training sequence: every record's response starts past --seq-len ${seqLen}`);
  return { source: file, format: corpus.format, sha256: corpus.sha256, records: corpus.texts.length, examples };
}

/**
 * Which examples each step takes: a seeded shuffle of the data, reshuffled each epoch; a step
 * takes examples until it holds `batchTokens` tokens, grouped into micro-batches whose padded
 * size (rows × longest) stays within `microTokens`.
 */
export class StepSampler {
  private order: number[] = [];
  private cursor = 0;
  private readonly random: () => number;

  constructor(
    private readonly examples: readonly TrainingExample[],
    private readonly batchTokens: number,
    private readonly microTokens: number,
    seed: number,
  ) {
    this.random = mulberry32(seed);
  }

  private nextExample(): TrainingExample {
    if (this.cursor === this.order.length) {
      this.order = Array.from({ length: this.examples.length }, (_, i) => i);
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = randomBelow(this.random, i + 1);
        [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
      }
      this.cursor = 0;
    }
    return this.examples[this.order[this.cursor++]];
  }

  nextStep(): TrainingExample[][] {
    const drawn: TrainingExample[] = [];
    for (let tokens = 0; tokens < this.batchTokens; ) {
      const e = this.nextExample();
      drawn.push(e);
      tokens += e.ids.length;
    }
    return microBatches(drawn, this.microTokens);
  }
}

/** Consecutive examples grouped so that each group's padded size (rows × longest) stays within `microTokens` (a longer example goes alone). */
export function microBatches(examples: readonly TrainingExample[], microTokens: number): TrainingExample[][] {
  const micro: TrainingExample[][] = [];
  let current: TrainingExample[] = [];
  let longest = 0;
  for (const e of examples) {
    const wider = Math.max(longest, e.ids.length);
    if (current.length > 0 && wider * (current.length + 1) > microTokens) {
      micro.push(current);
      current = [];
      longest = 0;
    }
    current.push(e);
    longest = Math.max(longest, e.ids.length);
  }
  if (current.length > 0) micro.push(current);
  return micro;
}

/** Held-out share of the training data when --eval-every has no --eval-data: the last 5% of the sequences, 1 to 64 of them. */
export const HELD_OUT_SHARE = 0.05;
export const HELD_OUT_MAX = 64;

/**
 * Splits off the held-out slice: the file's last sequences, so the slice does not depend on the
 * seed and the rest trains as if the file ended before it. Needs at least two sequences.
 */
export function splitHeldOut(data: TrainingData): { train: TrainingExample[]; heldOut: TrainingExample[] } {
  const n = data.examples.length;
  if (n < 2) throw new FileError(data.source, `has ${n} training sequence: --eval-every without --eval-data holds out part of the data; give --eval-data`);
  const k = Math.min(HELD_OUT_MAX, Math.max(1, Math.round(n * HELD_OUT_SHARE)));
  return { train: data.examples.slice(0, n - k), heldOut: data.examples.slice(n - k) };
}
