/**
 * The training options `finetune` and `prune --finetune` share, declared once: `finetune` takes
 * them as they are (--lr), `prune` under a `finetune-` prefix (--finetune-lr) so that they cannot
 * clash with its own (--seed, --calib-seq-len). Parsers come from options.ts.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { SCHEDULES } from '../finetune/schedule.js';
import { dropoutProbability, existingPath, finiteNumber, nonNegativeInt, positiveInt, positiveNumber } from './options.js';

interface TrainingOption {
  /** Flag name without dashes and its value placeholder, e.g. 'lora-rank', '<r>'. */
  name: string;
  value: string;
  /** `{name}` stands for another of these flags, spelt with the command's prefix. */
  description: string;
  parse?: (value: string) => unknown;
  default?: unknown;
  choices?: readonly string[];
}

const TRAINING_OPTIONS: readonly TrainingOption[] = [
  { name: 'teacher', value: '<dir>', description: 'distil from this model (e.g. the dense one): tau^2 * KL(teacher || student) on the logits' },
  { name: 'temperature', value: '<t>', description: 'distillation temperature', parse: positiveNumber, default: 1 },
  { name: 'ce-mix', value: '<f>', description: 'with a teacher: weight of next-token cross-entropy mixed into the loss, in [0, 1]', parse: finiteNumber, default: 0 },
  { name: 'steps', value: '<n>', description: 'optimizer steps (default: one pass over the data, or {tokens})', parse: positiveInt },
  { name: 'tokens', value: '<n>', description: 'train on about this many tokens instead of {steps}', parse: positiveInt },
  { name: 'lora-rank', value: '<r>', description: 'LoRA rank', parse: positiveInt, default: 8 },
  { name: 'lora-alpha', value: '<a>', description: 'LoRA alpha (scale alpha / rank)', parse: positiveNumber, default: 16 },
  { name: 'lora-dropout', value: '<p>', description: "peft's lora_dropout: dropout on each adapter's input while training, masks drawn from the seed (the merge ignores it)", parse: dropoutProbability, default: 0 },
  { name: 'targets', value: '<list>', description: 'projections to adapt; where the model fuses several into one tensor (Phi-3: q,k,v in qkv_proj, gate,up in gate_up_proj) that module gets one adapter, as in peft, so name all of its projections or none', default: 'q,k,v,o,gate,up,down' },
  { name: 'lr', value: '<f>', description: 'peak learning rate', parse: positiveNumber, default: 3e-4 },
  { name: 'warmup', value: '<n>', description: 'optimizer steps of linear warmup', parse: nonNegativeInt, default: 0 },
  { name: 'schedule', value: '<name>', description: 'learning-rate schedule after warmup', choices: SCHEDULES, default: 'cosine' },
  { name: 'weight-decay', value: '<f>', description: 'AdamW decoupled weight decay', parse: finiteNumber, default: 0 },
  { name: 'grad-clip', value: '<f>', description: 'clip the global gradient norm to this (0 = off)', parse: finiteNumber, default: 1 },
  { name: 'batch-tokens', value: '<n>', description: 'tokens per optimizer step, accumulated over micro-batches', parse: positiveInt, default: 2048 },
  { name: 'seq-len', value: '<n>', description: 'longest training sequence, and the padded size of one micro-batch', parse: positiveInt, default: 512 },
  {
    name: 'eval-every',
    value: '<n>',
    description: 'held-out cross-entropy and perplexity of the merged model every N steps (and before the first and after the last step), shown in the progress output and stored in amp_prune.json',
    parse: positiveInt,
  },
  {
    name: 'eval-data',
    value: '<file>',
    description: 'held-out data for {eval-every}, same formats as the training data (default: the last 5% of the training sequences, at most 64, left out of training)',
    parse: existingPath('file'),
  },
];

/** What the shared options parse to, by their unprefixed camelCase names. */
export interface TrainingFlags {
  teacher?: string;
  temperature: number;
  ceMix: number;
  steps?: number;
  tokens?: number;
  loraRank: number;
  loraAlpha: number;
  loraDropout: number;
  targets: string;
  lr: number;
  warmup: number;
  schedule: string;
  weightDecay: number;
  gradClip: number;
  batchTokens: number;
  seqLen: number;
  evalEvery?: number;
  evalData?: string;
}

const camel = (kebab: string) => kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Adds the training options to `command`, each named `--<prefix><name>`. */
export function addTrainingOptions(command: Command, prefix = ''): Command {
  for (const o of TRAINING_OPTIONS) {
    const description = o.description.replace(/\{([a-z-]+)\}/g, (_, name: string) => trainingFlagName(name, prefix));
    const option = new Option(`--${prefix}${o.name} ${o.value}`, description);
    if (o.parse) option.argParser(o.parse);
    if (o.choices) option.choices([...o.choices]);
    if (o.default !== undefined) option.default(o.default);
    command.addOption(option);
  }
  return command;
}

/** The training options of a parsed command, under their unprefixed names. */
export function trainingFlags(opts: Record<string, unknown>, prefix = ''): TrainingFlags {
  return Object.fromEntries(TRAINING_OPTIONS.map((o) => [camel(o.name), opts[camel(`${prefix}${o.name}`)]])) as unknown as TrainingFlags;
}

/** The prefixed training flags given on the command line (not defaults), as typed. */
export function trainingFlagsGiven(command: Command, prefix: string): string[] {
  return TRAINING_OPTIONS.filter((o) => command.getOptionValueSource(camel(`${prefix}${o.name}`)) === 'cli').map((o) => trainingFlagName(o.name, prefix));
}

/** The flag a user typed for a shared option (for messages): --lr or --finetune-lr. */
export const trainingFlagName = (name: string, prefix = ''): string => `--${prefix}${name}`;
