/** Shared pieces of the fine-tuning tests: a real-text batch, non-trivial adapters, the peft referee. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32 } from '../../src/calib/prng.js';
import { padBatch } from '../../src/engine/batch.js';
import type { TokenBatch } from '../../src/engine/batch.js';
import { initLora } from '../../src/finetune/lora.js';
import type { LoraConfig, LoraState } from '../../src/finetune/lora.js';
import type { ArchSpec } from '../../src/arch/spec.js';
import { writePeftAdapter } from '../../src/finetune/peft-adapter.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';

export const LORA_REFERENCE = join(REPO_ROOT, 'tests', 'fixtures', 'lora_reference.py');

export const TEXTS = [
  'Below is an instruction that describes a task. Write a response that appropriately completes the request. Give three tips for staying healthy.',
  'The quick brown fox jumps over the lazy dog, and then it runs far away into the forest.',
];

/** Two right-padded rows of real text; labels: every real token after the first few of each row (a "prompt" left out). */
export async function textBatch(modelDir: string, lengths = [22, 15]): Promise<{ tokens: TokenBatch; labelled: Uint8Array }> {
  const tokenizer = await loadTokenizer(modelDir);
  const rows = TEXTS.map((t, i) => tokenizer.encode(t).slice(0, lengths[i]));
  const tokens = padBatch(rows, 0);
  const labelled = new Uint8Array(tokens.ids.length);
  rows.forEach((r, b) => {
    for (let t = 4 + b; t < r.length; t++) labelled[b * tokens.seqLen + t] = 1;
  });
  return { tokens, labelled };
}

/** peft's initialisation, then B filled with seeded noise so every gradient (A's too) is non-zero. */
export function noisyLora(spec: ArchSpec, config: LoraConfig, seed: number): LoraState {
  const lora = initLora(spec, config, seed);
  const random = mulberry32(seed + 1);
  for (const layer of lora.layers) for (const ad of layer) for (let i = 0; i < ad.b.length; i++) ad.b[i] = (random() * 2 - 1) * 0.2;
  return lora;
}

/** The batch as transformers takes it: ids, attention mask, labels (-100 outside the loss). */
export async function writeBatchJson(file: string, tokens: TokenBatch, labelled: Uint8Array): Promise<void> {
  const rows = (f: (i: number) => number) => Array.from({ length: tokens.batch }, (_, b) => Array.from({ length: tokens.seqLen }, (_, t) => f(b * tokens.seqLen + t)));
  await writeFile(file, JSON.stringify({ ids: rows((i) => tokens.ids[i]), mask: rows((i) => tokens.mask[i]), labels: rows((i) => (labelled[i] && tokens.mask[i] ? tokens.ids[i] : -100)) }));
}

export interface ReferenceGrads {
  loss: number;
  /** peft parameter name without the adapter name, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight */
  grads: Map<string, number[]>;
}

/**
 * peft's loss and LoRA gradients on the batch. `masks` (peft module name -> flat [B·T·in] mask)
 * stand in for the adapters' lora_dropout draws.
 */
export async function referenceGrads(scratch: string, modelDir: string, lora: LoraState, tokens: TokenBatch, labelled: Uint8Array, kd?: { teacher: string; temperature: number; ceMix: number }, masks?: Record<string, number[]>): Promise<ReferenceGrads> {
  const adapter = join(scratch, 'adapter');
  await mkdir(adapter, { recursive: true });
  await writePeftAdapter(adapter, lora, modelDir);
  const batchFile = join(scratch, 'batch.json');
  await writeBatchJson(batchFile, tokens, labelled);
  const args = [LORA_REFERENCE, 'grads', '--model', modelDir, '--adapter', adapter, '--batch', batchFile];
  if (kd) args.push('--teacher', kd.teacher, '--temperature', String(kd.temperature), '--ce-mix', String(kd.ceMix));
  if (masks) {
    const masksFile = join(scratch, 'masks.json');
    await writeFile(masksFile, JSON.stringify(masks));
    args.push('--masks', masksFile);
  }
  const out = JSON.parse((await runPython(args)).trim().split('\n').pop()!) as { loss: number; grads: Record<string, number[]> };
  return { loss: out.loss, grads: new Map(Object.entries(out.grads).map(([k, v]) => [k.replace('.default.', '.'), v])) };
}

export { relativeError } from '../helpers/compare.js';
