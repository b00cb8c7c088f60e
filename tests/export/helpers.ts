/** Shared helpers for the export tests: temp folders, folder hashes, small tensors, the venv. */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import type { TensorEntry } from '../../src/io/safetensors.js';
import { CheckpointWriter, type CheckpointWriterOptions } from '../../src/export/checkpoint-writer.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const VENV_PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
export const HAS_VENV = existsSync(VENV_PYTHON);
export const NO_VENV_MESSAGE = `skipped: no Python reference environment at ${VENV_PYTHON}`;

/** A fresh temp folder, removed when the test file finishes. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'amp-prune-export-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file under `dir` (relative path, sorted) with its sha256: equal maps mean equal folders. */
export async function hashFolder(dir: string): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())) {
    const file = path.join(entry.parentPath, entry.name);
    hashes[path.relative(dir, file)] = createHash('sha256').update(await readFile(file)).digest('hex');
  }
  return Object.fromEntries(Object.entries(hashes).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Entries of `dir` whose names mark them as our staging or set-aside folders. */
export async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /\.(tmp|old)-\d+-[0-9a-f]+$/.test(name));
}

/** F32 tensors of the given element counts, named t0, t1, ...; data is a deterministic ramp. */
export function f32Tensors(sizes: readonly number[]): { entries: TensorEntry[]; data: Map<string, Uint8Array> } {
  const entries: TensorEntry[] = sizes.map((n, i) => ({ name: `t${i}`, dtype: 'F32', shape: [n] }));
  const data = new Map(entries.map((e, i) => [e.name, new Uint8Array(Float32Array.from({ length: sizes[i] }, (_, k) => i * 1000 + k).buffer)]));
  return { entries, data };
}

/** Writes a whole checkpoint with the writer: the tensors, config.json, then commit. */
export async function writeCheckpoint(
  outDir: string,
  tensors: { entries: TensorEntry[]; data: Map<string, Uint8Array> },
  options: Omit<CheckpointWriterOptions, 'tensors'> = {},
): Promise<void> {
  const writer = await CheckpointWriter.create(outDir, { ...options, tensors: tensors.entries });
  try {
    for (const { name } of tensors.entries) await writer.write(name, tensors.data.get(name) ?? new Uint8Array());
    await writer.writeJson('config.json', { model_type: 'test' });
    await writer.commit();
  } finally {
    await writer.abort();
  }
}

/** Runs `.venv/bin/python -c script args...`; resolves to stdout, rejects with stderr. */
export function runPython(script: string, args: readonly string[] = []): Promise<string> {
  const env = { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_VERBOSITY: 'error', TOKENIZERS_PARALLELISM: 'false' };
  return new Promise((resolve, reject) => {
    execFile(VENV_PYTHON, ['-c', script, ...args], { env, timeout: 10 * 60 * 1000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed (${error.message.split('\n')[0]}):\n${stderr}`));
      else resolve(stdout);
    });
  });
}
