/** Shared helpers for the io tests: temp folders and hand-built safetensors bytes. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { FileError } from '../../src/errors.js';

/** A fresh temp folder, removed when the test file finishes. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'amp-prune-io-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Safetensors bytes from a header (object or raw JSON text) and a data section. */
export function rawSafetensors(header: unknown, data: Uint8Array | number = 0): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const body = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  return Buffer.concat([prefix, json, body]);
}

/** Float32 values as little-endian bytes. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** Asserts `promise` rejects with a FileError about `file` whose problem matches `problem`. */
export async function rejectsWithFileError(promise: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FileError, `expected a FileError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.ok(error.message.startsWith(`${file}: `), `message should name the file: ${error.message}`);
    assert.match(error.problem, problem);
    return true;
  });
}
