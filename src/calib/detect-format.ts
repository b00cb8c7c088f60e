/**
 * Which layout a calibration file has. The content decides; the extension only settles what the
 * content leaves open: prose may begin with "[" ("[Applause] Thank you"), so a .txt file is text
 * whatever its first character, and a .jsonl file is JSON Lines.
 */
import { extname } from 'node:path';
import { FileError } from '../errors.js';
import { parseJson } from './json-error.js';
import type { CalibrationFormat } from './types.js';

const TEXT_EXTENSIONS = new Set(['.txt', '.text', '.md']);
const JSONL_EXTENSIONS = new Set(['.jsonl', '.ndjson']);

/** `text` is the decoded, non-blank file content. */
export function detectFormat(file: string, text: string): CalibrationFormat {
  const extension = extname(file).toLowerCase();
  if (TEXT_EXTENSIONS.has(extension)) return 'text';
  if (JSONL_EXTENSIONS.has(extension)) return 'jsonl';
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) return 'alpaca';
  if (trimmed.startsWith('{')) return objectFormat(file, trimmed);
  if (extension === '.json') throw new FileError(file, 'not JSON: expected an array of Alpaca records');
  return 'text';
}

/**
 * A file starting with "{" is JSON Lines when its first line is a whole JSON value; one object
 * spread over several lines is a JSON document of the wrong shape.
 */
function objectFormat(file: string, trimmed: string): CalibrationFormat {
  const firstLine = trimmed.split('\n', 1)[0];
  if ('value' in parseJson(firstLine)) return 'jsonl';
  if ('value' in parseJson(trimmed)) {
    throw new FileError(
      file,
      'a JSON object; expected an array of {instruction, input, output} records or JSON Lines (one {"text": ...} per line)',
    );
  }
  return 'jsonl';
}
