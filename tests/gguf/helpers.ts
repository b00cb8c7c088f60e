/**
 * GGUF test fixtures: tests/fixtures/make_gguf.py builds tiny GGUF files from make_tiny.py's
 * tokenizers, with transformers' answers on them, once per script change (manifest hash).
 */
import { readFile, rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { REPO_ROOT, ensureFixtures, runPython } from '../helpers/python.js';

export const GGUF_FIXTURES = join(REPO_ROOT, '.cache', 'gguf-fixtures');
const MAKE_GGUF = join(REPO_ROOT, 'tests', 'fixtures', 'make_gguf.py');
export const TEXT_FILE = join(REPO_ROOT, '..', 'shared', 'data', 'wikitext2', 'derived_raw_hf_joined', 'wikitext-test.txt');

export interface GgufVariant {
  name: string;
  /** tokenizer.ggml.model */
  tokenizer: string;
  pre: string | null;
  tied: boolean;
  /**
   * "transformers GGUF loader", "transformers model" (the model the file was written from), or
   * "dequantized transformers model" (that model with the file's dequantized weights: phi2)
   */
  logits_from: string;
  /** "transformers GGUF tokenizer", or (phi2) "transformers tokenizer the file was made from" */
  ids_from: string;
  logits_dims: number[];
}

export interface GgufManifest {
  script_sha256: string;
  variants: GgufVariant[];
  dequant_types: string[];
}

async function readManifest(): Promise<GgufManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(GGUF_FIXTURES, 'manifest.json'), 'utf8')) as GgufManifest;
  } catch {
    return undefined;
  }
}

async function build(): Promise<GgufManifest> {
  const expected = createHash('sha256').update(await readFile(MAKE_GGUF)).digest('hex');
  const current = await readManifest();
  if (current?.script_sha256 === expected) return current;
  const fixtures = await ensureFixtures();
  // Built beside and moved into place, so an interrupted build never looks complete.
  const staging = `${GGUF_FIXTURES}.tmp-${process.pid}`;
  try {
    await runPython([MAKE_GGUF, staging, '--fixtures', fixtures, '--text', TEXT_FILE]);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  await rm(GGUF_FIXTURES, { recursive: true, force: true });
  await rename(staging, GGUF_FIXTURES);
  const built = await readManifest();
  if (built?.script_sha256 !== expected) throw new Error(`make_gguf.py did not write ${GGUF_FIXTURES}/manifest.json`);
  return built;
}

let ready: Promise<GgufManifest> | undefined;

/** The built fixtures' manifest (builds them on first use in this process). */
export function ggufFixtures(): Promise<GgufManifest> {
  ready ??= build();
  return ready;
}

export function fixturePath(...parts: string[]): string {
  return join(GGUF_FIXTURES, ...parts);
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** A little-endian float32 file as a Float32Array (copied, so the view is aligned). */
export async function readFloat32(file: string): Promise<Float32Array> {
  const bytes = await readFile(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
