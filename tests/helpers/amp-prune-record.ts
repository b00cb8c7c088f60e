/**
 * amp_prune.json in tests: complete hand-made records as `prune` and `finetune` write them (typed,
 * so they follow the record's interfaces) for tests that need one without running a command, and
 * reading what a command wrote through the module the commands use (so it is checked too).
 */
import { join } from 'node:path';
import { AMP_PRUNE_FILE, isPruneRecord, readAmpPruneRecord } from '../../src/export/amp-prune-record.js';
import type { FinetuneRecord, LayerRecord, PruneRecord } from '../../src/export/amp-prune-record.js';

export interface RecordLayer {
  heads: { kept: number[]; scores: number[] };
  neurons: { kept: number[]; scores: number[] };
  kvHeads?: number[];
}

const COUNTS = { embeddings: 100, attention: 200, mlp: 400, norms: 10, lmHead: 100, total: 810 };

export function handMadePruneRecord(layers: readonly RecordLayer[], overrides: Partial<PruneRecord> = {}): PruneRecord {
  return {
    tool: { name: 'amp-prune', version: '0.1.0' },
    method: 'amp',
    allocation: { kind: 'uniform' },
    gqa: 'group',
    align: 1,
    skip_layers: [],
    seed: 0,
    ratio: { asked: 0.25, achieved: 0.247, layers_worth: null },
    parameters: { before: COUNTS, after: { ...COUNTS, attention: 100, mlp: 300, total: 610 } },
    source: { model: 'dense-model', architecture: 'LlamaForCausalLM', layers: layers.length },
    calibration: null,
    recovery: { method: 'none', rewrites: [], damp: null, propagate: null, token_weighting: null, score_on: 'dense', refit_target: null, held_out: 'every 8th calibration sequence', mean_error: null },
    layers: layers.map((l, layer): LayerRecord => ({ layer, heads: l.heads, kv_heads: { kept: l.kvHeads ?? l.heads.kept }, neurons: l.neurons })),
    ...overrides,
  };
}

export function handMadeFinetuneRecord(): FinetuneRecord {
  return {
    base: 'pruned-model',
    data: { source: 'train.json', format: 'alpaca', sha256: 'ab'.repeat(32), records: 40, sequences: 32 },
    teacher: null,
    loss: 'ce',
    lora: { rank: 8, alpha: 16, targets: ['q', 'v'] },
    optimizer: { name: 'adamw', lr: 0.0002, warmup: 0, schedule: 'cosine', weightDecay: 0, gradClip: 1 },
    batchTokens: 256,
    seqLen: 128,
    seed: 0,
    steps: 2,
    tokens: 500,
    labelledTokens: 200,
    lossCurve: [7.1, 6.9],
  };
}

/** The amp_prune.json a command wrote in `dir`, read (and so checked) by the module every command uses. */
export async function pruneRecordIn(dir: string): Promise<PruneRecord> {
  const record = await readAmpPruneRecord(join(dir, AMP_PRUNE_FILE));
  if (!isPruneRecord(record)) throw new Error(`${dir}: its ${AMP_PRUNE_FILE} has no pruning fields`);
  return record;
}

export async function finetuneRecordIn(dir: string): Promise<FinetuneRecord> {
  const { finetune } = await readAmpPruneRecord(join(dir, AMP_PRUNE_FILE));
  if (!finetune) throw new Error(`${dir}: its ${AMP_PRUNE_FILE} has no finetune record`);
  return finetune;
}
