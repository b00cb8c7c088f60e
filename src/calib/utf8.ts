/** Strict UTF-8 decoding that says which line holds the first bad byte. */
import { FileError } from '../errors.js';

const NEWLINE = 0x0a;

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** 1-based line of the first invalid byte; a newline byte (0x0A) can never be inside a UTF-8 sequence. */
function firstInvalidLine(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end === -1) end = bytes.length;
    if (!isValidUtf8(bytes.subarray(start, end))) return line;
    line += 1;
    start = end + 1;
  }
  return line;
}

/** The text of `bytes`, without a leading byte-order mark; a FileError naming the line when not UTF-8. */
export function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    // The decoder drops a leading U+FEFF (ignoreBOM is false), which Windows editors like to add.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileError(file, `line ${firstInvalidLine(bytes)}: not valid UTF-8`);
  }
}
