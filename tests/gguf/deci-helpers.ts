/**
 * What the deci import tests share: per-layer-width pruned fixtures (made by our CLI), a
 * tensor-by-tensor comparison of a converted folder with the folder it should equal, and our
 * engine's logits on a folder.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { padBatch } from '../../src/engine/batch.js';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { TensorStore } from '../../src/io/tensor-store.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/python.js';

export const PROMPT = 'The quick brown fox jumps over the lazy dog. It was a bright cold day in April';

/** `fixture` pruned by our CLI to the given per-layer widths (default recovery: lsq, so o/down biases). */
export async function prunedPerLayer(dir: string, name: string, fixture: string, layers: { heads: number; intermediate: number }[]): Promise<string> {
  const allocation = path.join(dir, `${name}-layers.json`);
  await writeFile(allocation, JSON.stringify({ layers }));
  const out = path.join(dir, name);
  const run = await runCli(['--threads', '2', 'prune', '--model', await fixtureDir(fixture), '--out', out, '--ratio', '0.3', '--allocation', allocation]);
  assert.equal(run.code, 0, run.stderr);
  return out;
}

export async function readConfig(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
}

/** The config fields that give a model's widths. */
export function widthFields(config: Record<string, unknown>): Record<string, unknown> {
  const keys = ['amp_prune_layer_widths', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'head_dim', 'hidden_size', 'num_hidden_layers'];
  return Object.fromEntries(keys.map((k) => [k, config[k]]));
}

export interface FolderComparison {
  /** Largest |converted - reference| over every tensor of the reference. */
  maxDiff: number;
  /** Reference tensors whose converted values are not the same bits (name: first index). */
  unequal: string[];
  /** Tensors only the converted folder has that are not all zero (a group's missing bias must be zeros). */
  extraNonZero: string[];
}

/**
 * Every tensor of `reference` against the one of the same name in `converted` (same shape; values
 * read as float32, so an F16 tensor is compared by value).
 */
export async function compareFolders(reference: string, converted: string): Promise<FolderComparison> {
  const [want, got] = [await TensorStore.open(reference), await TensorStore.open(converted)];
  try {
    let maxDiff = 0;
    const unequal: string[] = [];
    for (const name of want.names()) {
      assert.ok(got.has(name), `${name} is missing from the converted folder`);
      assert.deepEqual(got.info(name).shape, want.info(name).shape, name);
      const [a, b] = [await want.readFloat32(name), await got.readFloat32(name)];
      let first = -1;
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        if (first < 0 && !Object.is(a[i], b[i])) first = i;
      }
      if (first >= 0) unequal.push(`${name}: ${first}`);
    }
    const extraNonZero: string[] = [];
    for (const name of got.names().filter((n) => !want.has(n))) {
      if ((await got.readFloat32(name)).some((x) => x !== 0)) extraNonZero.push(name);
    }
    return { maxDiff, unequal, extraNonZero };
  } finally {
    await Promise.all([want.close(), got.close()]);
  }
}

export async function engineLogits(dir: string, ids: number[]): Promise<Float32Array> {
  const lm = await CausalLM.load(dir, { device: 'cpu', threads: 2 });
  try {
    return (await lm.logits(padBatch([ids]))).data;
  } finally {
    await lm.close();
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
