/** Shared helpers for the calibration tests: a word-level fake tokenizer and temp files. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileError } from '../../src/errors.js';
import type { CalibrationTokenizer } from '../../src/calib/index.js';

/** shared/ sits beside the repository, for developers and CI alike; the data is never copied in. */
export const ALPACA_FILE = fileURLToPath(new URL('../../../shared/data/alpaca/alpaca_5000.json', import.meta.url));
export const ALPACA_SHA256 = 'fc1add24c93c9fbbe585a64a6c9bf6165eb110225f4470efbff382a913558ec0';

/**
 * One token per whitespace-separated word, ids handed out on first sight (so they decode back);
 * `prefix` plays the post-processor's special tokens (LLaMA's BOS by default, none for Phi-2).
 */
export class WordTokenizer implements CalibrationTokenizer {
  private readonly ids = new Map<string, number>();
  private readonly words: string[] = [];
  /** Every call, to check that sampling encodes only what it needs. */
  readonly calls: string[] = [];

  constructor(private readonly prefix: readonly number[] = [WordTokenizer.BOS]) {}

  static readonly BOS = 1;
  /** First id given to a word, above any special token a test uses. */
  static readonly FIRST_WORD_ID = 100;

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    this.calls.push(text);
    const words = text.split(/\s+/).filter((word) => word !== '');
    const ids = words.map((word) => this.idOf(word));
    return options.addSpecialTokens === false ? ids : [...this.prefix, ...ids];
  }

  decode(ids: readonly number[]): string {
    return ids.map((id) => this.words[id - WordTokenizer.FIRST_WORD_ID] ?? `<${id}>`).join(' ');
  }

  private idOf(word: string): number {
    let id = this.ids.get(word);
    if (id === undefined) {
      id = WordTokenizer.FIRST_WORD_ID + this.words.length;
      this.ids.set(word, id);
      this.words.push(word);
    }
    return id;
  }
}

/** A fresh temp folder, removed when the test file finishes. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'amp-prune-calib-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `content` to `name` in a fresh temp folder; returns its path. */
export async function tempFile(name: string, content: string | Uint8Array): Promise<string> {
  const file = path.join(await tempDir(), name);
  await writeFile(file, content);
  return file;
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
