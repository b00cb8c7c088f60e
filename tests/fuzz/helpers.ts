/**
 * Shared machinery of the property-based tests of the file readers: mutations of a valid seed
 * file (bytes flipped, cut short, inserted, deleted, duplicated; biased towards the header, where
 * the parsing is), and the property itself: a reader given any bytes either succeeds or throws a
 * one-line UserError (usually a FileError naming the file), never anything else, and never slowly.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { UserError } from '../../src/errors.js';

/** Runs per property: thousands per test file, as the issue asks, within ~20 s here. */
export const RUNS = Number(process.env.AMP_PRUNE_FUZZ_RUNS ?? 2000);

/** The longest one case may take; a reader that loops or allocates wildly fails on it. */
export const CASE_LIMIT_MS = 2000;

type Edit =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number };

/** Edits at positions in [0, 1): scaled to the file at application time, so they stay in range as the file changes. */
function editArbitrary(headerShare: number): fc.Arbitrary<{ edit: Edit; where: number; inHeader: boolean }> {
  const where = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.constant(0), byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80)) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.constant(0) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.constant(0), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.constant(0), length: fc.integer({ min: 1, max: 32 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), at: fc.constant(0), length: fc.integer({ min: 1, max: 64 }) }) },
  );
  return fc.record({ edit, where, inHeader: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < headerShare) });
}

/** Bytes of `seed` after 1–4 random edits; `headerBytes` is where most of them land. */
export function mutatedBytes(seed: Uint8Array, headerBytes: number, headerShare = 0.8): fc.Arbitrary<Uint8Array> {
  return fc.array(editArbitrary(headerShare), { minLength: 1, maxLength: 4 }).map((edits) => {
    let bytes: Uint8Array = Uint8Array.from(seed);
    const applied: string[] = [];
    for (const { edit, where, inHeader } of edits) {
      const span = Math.max(1, inHeader ? Math.min(headerBytes, bytes.length) : bytes.length);
      const at = Math.min(bytes.length, Math.floor(where * span));
      bytes = applyEdit(bytes, { ...edit, at });
      applied.push(describeEdit({ ...edit, at }));
    }
    // a failure report names the edits, not megabytes of bytes
    return Object.assign(bytes, { [fc.toStringMethod]: () => `seed + ${applied.join(', ')}` });
  });
}

function describeEdit(edit: Edit): string {
  switch (edit.kind) {
    case 'set':
      return `byte ${edit.at} = ${edit.byte}`;
    case 'cut':
      return `cut at ${edit.at}`;
    case 'insert':
      return `insert [${Array.from(edit.bytes).join(',')}] at ${edit.at}`;
    case 'delete':
    case 'repeat':
      return `${edit.kind} ${edit.length} bytes at ${edit.at}`;
  }
}

function applyEdit(bytes: Uint8Array, edit: Edit): Uint8Array {
  const before = bytes.subarray(0, edit.at);
  const after = bytes.subarray(edit.at);
  switch (edit.kind) {
    case 'set': {
      if (edit.at >= bytes.length) return bytes;
      const out = Uint8Array.from(bytes);
      out[edit.at] = edit.byte;
      return out;
    }
    case 'cut':
      return bytes.slice(0, edit.at);
    case 'insert':
      return concat(before, edit.bytes, after);
    case 'delete':
      return concat(before, bytes.subarray(Math.min(bytes.length, edit.at + edit.length)));
    case 'repeat':
      return concat(before, bytes.subarray(edit.at, edit.at + edit.length), after);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The property: `read` resolves, or rejects with a one-line UserError; and it takes less than
 * CASE_LIMIT_MS. Returns whether it succeeded, so a test can check the seed itself reads.
 */
export async function readsOrRefusesCleanly(what: string, read: () => Promise<unknown>): Promise<boolean> {
  const started = performance.now();
  let ok = true;
  try {
    await read();
  } catch (error) {
    ok = false;
    if (!(error instanceof UserError)) {
      throw new Error(`${what}: not a UserError but ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error });
    }
    assert.doesNotMatch(error.message, /\n/, `${what}: a multi-line message: ${JSON.stringify(error.message)}`);
  }
  const took = performance.now() - started;
  assert.ok(took < CASE_LIMIT_MS, `${what}: took ${Math.round(took)} ms`);
  return ok;
}

/** A scratch folder for the duration of `body`. */
export async function withScratch<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `amp-prune-fuzz-${prefix}-`));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * fast-check's settings for every property here: a new random seed each run (more inputs tried
 * over time); a failure prints its seed, and AMP_PRUNE_FUZZ_SEED=<seed> replays it.
 */
export function fuzzParameters(): fc.Parameters<unknown> {
  const seed = process.env.AMP_PRUNE_FUZZ_SEED;
  return { numRuns: RUNS, ...(seed ? { seed: Number(seed) } : {}), includeErrorInReport: true };
}
