/**
 * Alpaca-style JSON: an array of {instruction, input, output} records, each turned into the
 * paper's calibration prompt (AMP-SPEC "Calibration"). The output is never used: the paper scores
 * the prompt as a model would see it before answering.
 */
import { FileError } from '../errors.js';
import { scanArray, type ArrayScan } from './json-array-scan.js';
import { parseJson } from './json-error.js';
import { describePosition } from './text-position.js';

export interface AlpacaRecord {
  instruction: string;
  /** Context for the instruction; '' when the record has none. */
  input: string;
}

/**
 * "Instruction: {instruction}\nInput: {input}\nResponse:", without the Input line when the input is
 * empty: the reference code's `if input_text:` test, so a whitespace-only input still gets its line.
 */
export function alpacaPrompt({ instruction, input }: AlpacaRecord): string {
  return input === ''
    ? `Instruction: ${instruction}\nResponse:`
    : `Instruction: ${instruction}\nInput: ${input}\nResponse:`;
}

/** One prompt per record, in file order. `text` must start (after blanks) with `[`. */
export function parseAlpaca(file: string, text: string): string[] {
  const parsed = parseJson(text);
  if ('error' in parsed) throw locateSyntaxError(file, text, scanArray(text, text.search(/\S/)));
  if (!Array.isArray(parsed.value)) throw new FileError(file, 'not a JSON array of Alpaca records');
  const records = parsed.value as unknown[];
  if (records.length === 0) throw new FileError(file, 'no records: the JSON array is empty');
  return records.map((value, index) => {
    const record = toRecord(value);
    if (typeof record === 'string') throw new FileError(file, `${recordLabel(text, index)}: ${record}`);
    return alpacaPrompt(record);
  });
}

/**
 * "record 12 (line 40, column 3)"; records count from 1, like lines. Positions cost a scan of the
 * file, so they are found only for the record being reported.
 */
function recordLabel(text: string, index: number, scan = scanArray(text, text.search(/\S/))): string {
  const span = scan.elements[index];
  return span ? `record ${index + 1} (${describePosition(text, span.start)})` : `record ${index + 1}`;
}

/** The record, or what is wrong with it. */
function toRecord(value: unknown): AlpacaRecord | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'not an object with "instruction" and "input" fields';
  }
  const fields = value as Record<string, unknown>;
  if (!('instruction' in fields)) return 'missing "instruction"';
  // A missing input is an empty one, as in the reference code (entry.get("input", "")).
  const { instruction, input = '' } = fields;
  if (typeof instruction !== 'string') return '"instruction" is not a string';
  if (instruction.trim() === '') return '"instruction" is empty';
  if (typeof input !== 'string') return '"input" is not a string';
  return { instruction, input };
}

/**
 * The whole file failed to parse: name the first record that does not parse on its own, so a
 * broken record in a 20 MB file is found without a JSON linter.
 */
function locateSyntaxError(file: string, text: string, scan: ArrayScan): FileError {
  for (const [index, span] of scan.elements.entries()) {
    const problem = (what: string) => new FileError(file, `${recordLabel(text, index, scan)}: ${what}`);
    if (span.start === span.end) return problem('empty (a stray comma?)');
    const parsed = parseJson(text.slice(span.start, span.end));
    if ('error' in parsed) {
      const { reason, position } = parsed.error;
      const at = position === undefined ? '' : ` at ${describePosition(text, span.start + position)}`;
      return problem(`not valid JSON (${reason}${at})`);
    }
  }
  if (scan.closeAt === undefined) return new FileError(file, 'not valid JSON: the array is never closed with "]"');
  const trailing = text.slice(scan.closeAt + 1).search(/\S/);
  const at = describePosition(text, scan.closeAt + 1 + Math.max(trailing, 0));
  return new FileError(file, `not valid JSON: unexpected text after the array at ${at}`);
}
