/** JSON Lines: one object per line whose string `text` field is one calibration text. */
import { FileError } from '../errors.js';
import { parseJson } from './json-error.js';

/** Texts in file order; blank lines are skipped (a trailing newline is common, several are harmless). */
export function parseJsonl(file: string, text: string): string[] {
  const texts: string[] = [];
  for (const [index, rawLine] of text.split('\n').entries()) {
    const line = rawLine.trim();
    if (line === '') continue;
    const problem = (what: string) => new FileError(file, `line ${index + 1}: ${what}`);
    const parsed = parseJson(line);
    if ('error' in parsed) throw problem(`not valid JSON (${parsed.error.reason})`);
    const value = parsed.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw problem('not a JSON object');
    const field = (value as Record<string, unknown>).text;
    if (typeof field !== 'string') throw problem('no string field "text"');
    if (field.trim() === '') throw problem('"text" is empty');
    texts.push(field);
  }
  if (texts.length === 0) throw new FileError(file, 'no records: every line is blank');
  return texts;
}
