/** Reading a calibration file (`--calib FILE`) into a corpus: one text per record. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FileError } from '../errors.js';
import { parseAlpaca } from './alpaca.js';
import { detectFormat } from './detect-format.js';
import { parseJsonl } from './jsonl.js';
import { parsePlainText } from './plain-text.js';
import type { CalibrationCorpus, CalibrationFormat } from './types.js';
import { decodeUtf8 } from './utf8.js';

export interface LoadCalibrationOptions {
  /** Skips detection (e.g. for a prose file named .json); detection is right for the usual names. */
  format?: CalibrationFormat;
}

const PARSERS: Record<CalibrationFormat, (file: string, text: string) => string[]> = {
  alpaca: parseAlpaca,
  jsonl: parseJsonl,
  text: parsePlainText,
};

export async function loadCalibrationFile(
  file: string,
  options: LoadCalibrationOptions = {},
): Promise<CalibrationCorpus> {
  const bytes = await readBytes(file);
  const text = decodeUtf8(file, bytes);
  if (text.trim() === '') throw new FileError(file, 'empty file: no calibration text');
  const format = options.format ?? detectFormat(file, text);
  return {
    source: file,
    format,
    texts: PARSERS[format](file, text),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError(file, 'no such file');
    if (code === 'EISDIR') throw new FileError(file, 'is a folder, not a calibration file');
    if (code === 'EACCES') throw new FileError(file, 'cannot be read (permission denied)');
    throw new FileError(file, `cannot be read (${code ?? (error as Error).message})`);
  }
}
