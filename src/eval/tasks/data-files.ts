/**
 * Reading the published task files: JSON Lines records, one-label-per-line files, and typed field
 * access. Every problem is a one-line FileError naming the file (and the line, where there is one).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileError } from '../../errors.js';

/** One JSON object from a JSON Lines file, with where it came from. */
export interface JsonlRecord {
  file: string;
  /** 1-based line number. */
  line: number;
  value: Record<string, unknown>;
}

/** The bytes of `relativePath` under the data folder; a missing file names the task reading it. */
export async function readDataFile(dataDir: string, relativePath: string, task: string): Promise<Buffer> {
  const file = join(dataDir, relativePath);
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new FileError(file, `not found (task ${task} reads ${relativePath} from the data folder)`);
    }
    throw new FileError(file, `cannot be read (${code ?? (error as Error).message})`);
  }
}

/** Lines of a text file, without the final empty line a trailing newline leaves, CR stripped. */
export function textLines(bytes: Buffer): string[] {
  const lines = bytes.toString('utf8').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * The records of a JSON Lines file: all of them, or the first `limit`. `count` is the number of
 * lines holding records, parsed or not, so that a label file can be checked against it.
 */
export function parseJsonl(file: string, bytes: Buffer, limit?: number): { records: JsonlRecord[]; count: number } {
  const lines = textLines(bytes);
  const records: JsonlRecord[] = [];
  for (const [i, text] of lines.entries()) {
    if (limit !== undefined && records.length >= limit) break;
    const line = i + 1;
    if (text.trim() === '') throw new FileError(file, `line ${line}: empty line`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new FileError(file, `line ${line}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new FileError(file, `line ${line}: not a JSON object`);
    }
    records.push({ file, line, value: value as Record<string, unknown> });
  }
  return { records, count: lines.length };
}

/** Labels from a one-per-line file that must have exactly one line per data record. */
export function parseLabels<T>(
  file: string,
  bytes: Buffer,
  dataFile: string,
  dataCount: number,
  allowed: ReadonlyMap<string, T>,
): T[] {
  const lines = textLines(bytes);
  if (lines.length !== dataCount) {
    throw new FileError(file, `has ${lines.length} labels but ${dataFile} has ${dataCount} items`);
  }
  return lines.map((text, i) => {
    const label = allowed.get(text.trim());
    if (label === undefined) {
      const choices = [...allowed.keys()].join(', ');
      throw new FileError(file, `line ${i + 1}: label "${text}" is not one of ${choices}`);
    }
    return label;
  });
}

function fieldError(record: JsonlRecord, path: string, expected: string): FileError {
  return new FileError(record.file, `line ${record.line}: "${path}" is missing or not ${expected}`);
}

/** The value at a dotted path (e.g. "question.stem"); undefined where absent. */
export function fieldValue(record: JsonlRecord, path: string): unknown {
  let value: unknown = record.value;
  for (const key of path.split('.')) {
    value = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

export function stringField(record: JsonlRecord, path: string): string {
  const value = fieldValue(record, path);
  if (typeof value !== 'string') throw fieldError(record, path, 'a string');
  return value;
}

export function arrayField(record: JsonlRecord, path: string): unknown[] {
  const value = fieldValue(record, path);
  if (!Array.isArray(value)) throw fieldError(record, path, 'a list');
  return value;
}

export function stringArrayField(record: JsonlRecord, path: string): string[] {
  const value = arrayField(record, path);
  if (!value.every((v): v is string => typeof v === 'string')) throw fieldError(record, path, 'a list of strings');
  return value;
}

/** A FileError about one record. */
export function recordError(record: JsonlRecord, problem: string): FileError {
  return new FileError(record.file, `line ${record.line}: ${problem}`);
}
