/**
 * A resumable training checkpoint: the adapters, AdamW's moments and step, and what the run has
 * recorded so far, in a folder written atomically (StagedFolder) so an interrupted save leaves the
 * previous checkpoint. The data order is not stored: the seeded sampler replays it exactly.
 * `fingerprint` holds every setting that changes the result; resuming with other settings is refused.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileError } from '../errors.js';
import { StagedFolder } from '../export/staged-folder.js';
import { SafetensorsFile, writeSafetensors } from '../io/safetensors.js';
import type { TensorWithData } from '../io/safetensors.js';
import type { AdamWState } from './adamw.js';
import type { EvalPoint } from './held-out-eval.js';

const STATE_FILE = 'train_state.json';
const TENSORS_FILE = 'train_state.safetensors';

export interface TrainProgress {
  step: number;
  tokens: number;
  labelled: number;
  curve: number[];
  /** Held-out points so far (--eval-every); absent in checkpoints of runs without it. */
  evals?: EvalPoint[];
}

export interface SavedState {
  fingerprint: Record<string, unknown>;
  progress: TrainProgress;
  params: Float32Array[];
  optimizer: AdamWState;
}

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export async function saveTrainState(dir: string, state: SavedState): Promise<void> {
  const folder = await StagedFolder.create(dir, { force: true });
  try {
    const tensors: TensorWithData[] = [];
    const add = (name: string, a: Float32Array) => tensors.push({ name, dtype: 'F32', shape: [a.length], data: bytes(a) });
    state.params.forEach((p, i) => add(`param.${i}`, p));
    state.optimizer.m.forEach((m, i) => add(`adam_m.${i}`, m));
    state.optimizer.v.forEach((v, i) => add(`adam_v.${i}`, v));
    await writeSafetensors(path.join(folder.stagingDir, TENSORS_FILE), tensors);
    const json = { fingerprint: state.fingerprint, progress: state.progress, optimizerStep: state.optimizer.step, tensors: state.params.length };
    await writeFile(path.join(folder.stagingDir, STATE_FILE), `${JSON.stringify(json, null, 2)}\n`);
    await folder.commit();
  } catch (error) {
    await folder.discard();
    throw error;
  }
}

/** Restores a checkpoint into `params` (same shapes); refuses one saved with other settings. */
export async function loadTrainState(dir: string, fingerprint: Record<string, unknown>, params: Float32Array[]): Promise<{ progress: TrainProgress; optimizer: AdamWState }> {
  const stateFile = path.join(dir, STATE_FILE);
  let json: { fingerprint: Record<string, unknown>; progress: TrainProgress; optimizerStep: number; tensors: number };
  try {
    json = JSON.parse(await readFile(stateFile, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FileError(dir, 'no training checkpoint to resume (train_state.json is missing)');
    throw new FileError(stateFile, 'not valid JSON');
  }
  for (const [key, value] of Object.entries(fingerprint)) {
    if (JSON.stringify(json.fingerprint[key]) !== JSON.stringify(value)) {
      throw new FileError(dir, `was saved with ${key} = ${JSON.stringify(json.fingerprint[key])}, this run has ${JSON.stringify(value)}; resume with the same settings`);
    }
  }
  if (json.tensors !== params.length) throw new FileError(dir, `holds ${json.tensors} adapter tensors, this run has ${params.length}`);
  const file = await SafetensorsFile.open(path.join(dir, TENSORS_FILE));
  try {
    const read = async (name: string, length: number) => {
      const t = await file.readFloat32(name);
      if (t.length !== length) throw new FileError(dir, `tensor ${name} has ${t.length} values, expected ${length}`);
      return t;
    };
    const m: Float32Array[] = [];
    const v: Float32Array[] = [];
    for (const [i, p] of params.entries()) {
      p.set(await read(`param.${i}`, p.length));
      m.push(Float32Array.from(await read(`adam_m.${i}`, p.length)));
      v.push(Float32Array.from(await read(`adam_v.${i}`, p.length)));
    }
    return { progress: json.progress, optimizer: { step: json.optimizerStep, m, v } };
  } finally {
    await file.close();
  }
}
