/**
 * Reading JSON input files (the report's inputs, amp_prune.json). Each problem is one line naming
 * the file: missing, unreadable, not JSON, or JSON of the wrong kind (the parsers built on these
 * helpers say which field is off).
 */
import { readFile } from 'node:fs/promises';
import { FileError } from '../errors.js';

export type JsonObject = Record<string, unknown>;

export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileError(file, code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a folder, not a JSON file' : `cannot be read (${code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FileError(file, `not valid JSON (${(error as Error).message.split('\n')[0]})`);
  }
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every(isFiniteNumber);
}

export function isIndexArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isInteger(v) && (v as number) >= 0);
}

/** The value at a dotted path, or undefined when any step is missing. */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

export function numberAt(value: unknown, path: string): number | null {
  const found = at(value, path);
  return isFiniteNumber(found) ? found : null;
}

export function stringAt(value: unknown, path: string): string | null {
  const found = at(value, path);
  return typeof found === 'string' ? found : null;
}
