/**
 * amp_prune.json: the record written next to a model amp-prune made, saying how it was made.
 * `prune` writes the pruning fields (the plan per layer, scores, calibration, recovery);
 * `finetune` copies its input's record and adds `finetune`. `eval` carries it (minus the
 * per-layer lists) into its run record and `report` charts it. Everything reads and writes it
 * here: the record is checked against these interfaces both ways, and a file that does not fit
 * fails with one line naming the file and the first field that is off.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParamCounts } from '../arch/params.js';
import { CALIBRATION_FORMATS, SAMPLING_MODES } from '../calib/types.js';
import type { CalibrationDescription, CalibrationFormat } from '../calib/types.js';
import { FileError } from '../errors.js';
import { SCHEDULES } from '../finetune/schedule.js';
import type { EvalPoint } from '../finetune/held-out-eval.js';
import type { Schedule } from '../finetune/schedule.js';
import { readJsonFile } from '../io/json-input.js';
import { aBoolean, aNumber, anIndex, aString, aWholeNumber, fields, listOf, nullable, oneOf, optional, refine } from '../io/json-shape.js';
import type { GqaMode } from '../plan/types.js';

export const AMP_PRUNE_FILE = 'amp_prune.json';

/** Relative output error of a repaired projection on held-out tokens, before and after repair. */
export interface ErrorPair {
  before: number;
  after: number;
}

export interface KeptUnits {
  /** Kept indices into the dense layer's units, ascending. */
  kept: number[];
  /** One importance score per unit of the dense layer. */
  scores: number[];
}

export interface LayerRecord {
  layer: number;
  heads: KeptUnits;
  kv_heads: { kept: number[] };
  neurons: KeptUnits;
  /** Present when a recovery method ran. */
  recovery?: { o_proj: ErrorPair; down_proj: ErrorPair };
}

export interface RecoverySettings {
  method: string;
  /** Tensors it changes beyond slicing (e.g. o.weight, down.bias). */
  rewrites: string[];
  /** lsq's ridge damping; null for the other methods. */
  damp: number | null;
  /** Which activations the next layer's calibration sees; null without recovery. */
  propagate: 'pruned' | 'dense' | null;
  token_weighting: 'tokens' | 'residual' | null;
  /** Absent in records written before --score-on (they scored on the dense model). */
  score_on?: 'dense' | 'pruned';
  /** lsq only (else null); absent in records written before --refit-target (they fit each layer). */
  refit_target?: 'layer' | 'model' | null;
  held_out: string;
  /** Means over layers of the per-layer errors; null without recovery. */
  mean_error: ErrorPair | null;
}

/** What `prune` records. */
export interface PruneRecord {
  tool: { name: string; version: string };
  /** The scoring method (score/registry.ts). */
  method: string;
  allocation: { kind: 'uniform' | 'global' | 'file'; file?: string };
  gqa: GqaMode;
  align: number;
  skip_layers: number[];
  seed: number;
  /** Fraction of all parameters removed: asked and achieved; layers_worth when given as --layers. */
  ratio: { asked: number; achieved: number; layers_worth: number | null };
  parameters: { before: ParamCounts; after: ParamCounts };
  /** The dense model: its folder or built-in name, architecture and layer count. */
  source: { model: string; architecture: string; layers: number };
  /** Null for methods that read no calibration text and run no recovery. */
  calibration: CalibrationDescription | null;
  recovery: RecoverySettings;
  layers: LayerRecord[];
  /** Added when the pruned model was finetuned. */
  finetune?: FinetuneRecord;
}

/**
 * What `finetune` adds. Fields added after the first release must be optional (records written
 * before them lack them): declare them here and give them a check in FINETUNE below.
 */
export interface FinetuneRecord {
  /** The model trained (the path as given). */
  base: string;
  data: { source: string; format: CalibrationFormat; sha256: string; records: number; sequences: number };
  teacher: { model: string; temperature: number; ceMix: number } | null;
  loss: 'ce' | 'kd';
  /** dropout: peft's lora_dropout (absent in records written before it existed). */
  lora: { rank: number; alpha: number; dropout?: number; targets: string[] };
  optimizer: { name: string; lr: number; warmup: number; schedule: Schedule; weightDecay: number; gradClip: number };
  batchTokens: number;
  seqLen: number;
  seed: number;
  steps: number;
  tokens: number;
  labelledTokens: number;
  /** Training loss per optimizer step. */
  lossCurve: number[];
  /** Held-out evaluation every N steps (--eval-every). */
  eval?: FinetuneEval;
}

/** Where --eval-every's held-out sequences came from: a file of their own, or the training data's last ones. */
export interface HeldOutData {
  source: string;
  sequences: number;
  /** True: the training data's last sequences, left out of training. */
  fromTrainingData: boolean;
  /** Of a file of their own. */
  format?: CalibrationFormat;
  sha256?: string;
}

export interface FinetuneEval {
  every: number;
  data: HeldOutData;
  labelledTokens: number;
  points: EvalPoint[];
}

/** A model amp-prune finetuned without pruning it. */
export interface FinetuneOnlyRecord {
  finetune: FinetuneRecord;
}

export type AmpPruneRecord = PruneRecord | FinetuneOnlyRecord;

/** The record without its bulky per-layer lists, as `eval` carries it. */
export type AmpPruneSummary = Omit<PruneRecord, 'layers'> | FinetuneOnlyRecord;

export const isPruneRecord = (record: AmpPruneRecord): record is PruneRecord => 'layers' in record;

export function summaryOf(record: AmpPruneRecord): AmpPruneSummary {
  if (!isPruneRecord(record)) return record;
  const { layers: _layers, ...summary } = record;
  return summary;
}

const errorPair = fields<ErrorPair>({ before: aNumber, after: aNumber });
const paramCounts = fields<ParamCounts>({ embeddings: anIndex, attention: anIndex, mlp: anIndex, norms: anIndex, lmHead: anIndex, total: anIndex });

const ascending = (where: string, kept: number[]) => {
  const i = kept.findIndex((k, j) => j > 0 && k <= kept[j - 1]);
  return i === -1 ? undefined : `${where}.kept is not ascending and distinct (${kept[i - 1]} then ${kept[i]})`;
};

const keptUnits = refine(fields<KeptUnits>({ kept: listOf(anIndex), scores: listOf(aNumber) }), (units, where) => {
  const outside = units.kept.find((i) => i >= units.scores.length);
  if (outside !== undefined) return `${where}.kept has index ${outside} but only ${units.scores.length} scores`;
  return ascending(where, units.kept);
});

const layerRecord = fields<LayerRecord>({
  layer: anIndex,
  heads: keptUnits,
  kv_heads: refine(fields<{ kept: number[] }>({ kept: listOf(anIndex) }), (units, where) => ascending(where, units.kept)),
  neurons: keptUnits,
  recovery: optional(fields<{ o_proj: ErrorPair; down_proj: ErrorPair }>({ o_proj: errorPair, down_proj: errorPair })),
});

const calibration = fields<CalibrationDescription>({
  source: aString,
  format: oneOf(CALIBRATION_FORMATS),
  sha256: aString,
  license: optional(aString),
  note: optional(aString),
  mode: oneOf(SAMPLING_MODES),
  recordsAvailable: anIndex,
  recordsUsed: anIndex,
  samples: anIndex,
  seqLen: nullable(anIndex),
  seed: nullable(aWholeNumber),
  totalTokens: anIndex,
  corpusTokens: nullable(anIndex),
  prefixTokens: listOf(anIndex),
});

const recovery = fields<RecoverySettings>({
  method: aString,
  rewrites: listOf(aString),
  damp: nullable(aNumber),
  propagate: nullable(oneOf(['pruned', 'dense'])),
  token_weighting: nullable(oneOf(['tokens', 'residual'])),
  score_on: optional(oneOf(['dense', 'pruned'])),
  refit_target: optional(nullable(oneOf(['layer', 'model']))),
  held_out: aString,
  mean_error: nullable(errorPair),
});

const FINETUNE = fields<FinetuneRecord>({
  base: aString,
  data: fields<FinetuneRecord['data']>({ source: aString, format: oneOf(CALIBRATION_FORMATS), sha256: aString, records: anIndex, sequences: anIndex }),
  teacher: nullable(fields<NonNullable<FinetuneRecord['teacher']>>({ model: aString, temperature: aNumber, ceMix: aNumber })),
  loss: oneOf(['ce', 'kd']),
  lora: fields<FinetuneRecord['lora']>({ rank: anIndex, alpha: aNumber, dropout: optional(aNumber), targets: listOf(aString) }),
  optimizer: fields<FinetuneRecord['optimizer']>({ name: aString, lr: aNumber, warmup: anIndex, schedule: oneOf(SCHEDULES), weightDecay: aNumber, gradClip: aNumber }),
  batchTokens: anIndex,
  seqLen: anIndex,
  seed: aWholeNumber,
  steps: anIndex,
  tokens: anIndex,
  labelledTokens: anIndex,
  lossCurve: listOf(aNumber),
  eval: optional(
    fields<FinetuneEval>({
      every: anIndex,
      data: fields<HeldOutData>({ source: aString, sequences: anIndex, fromTrainingData: aBoolean, format: optional(oneOf(CALIBRATION_FORMATS)), sha256: optional(aString) }),
      labelledTokens: anIndex,
      points: listOf(fields<EvalPoint>({ step: anIndex, tokens: anIndex, loss: aNumber, ppl: aNumber })),
    }),
  ),
});

const PRUNE = refine(
  fields<PruneRecord>({
    tool: fields<PruneRecord['tool']>({ name: aString, version: aString }),
    method: aString,
    allocation: fields<PruneRecord['allocation']>({ kind: oneOf(['uniform', 'global', 'file']), file: optional(aString) }),
    gqa: oneOf(['group', 'query']),
    align: anIndex,
    skip_layers: listOf(anIndex),
    seed: aWholeNumber,
    ratio: fields<PruneRecord['ratio']>({ asked: aNumber, achieved: aNumber, layers_worth: nullable(anIndex) }),
    parameters: fields<PruneRecord['parameters']>({ before: paramCounts, after: paramCounts }),
    source: fields<PruneRecord['source']>({ model: aString, architecture: aString, layers: anIndex }),
    calibration: nullable(calibration),
    recovery,
    layers: listOf(layerRecord),
    finetune: optional(FINETUNE),
  }),
  (record) => {
    if (record.layers.length !== record.source.layers) return `layers has ${record.layers.length} entries but source.layers is ${record.source.layers}`;
    const misplaced = record.layers.findIndex((l, i) => l.layer !== i);
    return misplaced === -1 ? undefined : `layers[${misplaced}].layer is ${record.layers[misplaced].layer}, not ${misplaced}`;
  },
);

const FINETUNE_ONLY = fields<FinetuneOnlyRecord>({ finetune: FINETUNE });

/** The problem with `value` as an amp_prune.json, or undefined. A record without `layers` must be a finetune-only one. */
function problemWith(value: unknown): string | undefined {
  const finetuneOnly = typeof value === 'object' && value !== null && !('layers' in value) && !('method' in value) && 'finetune' in value;
  return finetuneOnly ? FINETUNE_ONLY(value, '') : PRUNE(value, '');
}

/** `value` (parsed JSON) as a record, or a one-line FileError naming `file` and the field that is off. */
export function parseAmpPruneRecord(file: string, value: unknown): AmpPruneRecord {
  const problem = problemWith(value);
  if (problem) throw new FileError(file, `not a valid ${AMP_PRUNE_FILE} (${problem}); \`amp-prune prune\` writes one next to the pruned model`);
  return value as AmpPruneRecord;
}

export async function readAmpPruneRecord(file: string): Promise<AmpPruneRecord> {
  return parseAmpPruneRecord(file, await readJsonFile(file));
}

/** The record beside a model folder's weights, or null when the folder has none (a model amp-prune did not make). */
export async function readRecordBeside(modelDir: string): Promise<AmpPruneRecord | null> {
  const file = join(modelDir, AMP_PRUNE_FILE);
  try {
    await access(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  }
  return readAmpPruneRecord(file);
}

/** The JSON value to write: checked first, since a record its readers would refuse is a bug here. */
export function recordToWrite(record: AmpPruneRecord): AmpPruneRecord {
  const problem = problemWith(JSON.parse(JSON.stringify(record)));
  if (problem) throw new Error(`${AMP_PRUNE_FILE} about to be written does not fit its own type: ${problem}`);
  return record;
}
