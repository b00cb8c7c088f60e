/**
 * SparseGPT/Wanda-style sampling: the documents joined into one token stream, and N windows of
 * seqLen tokens cut from it at seeded random places. Unlike SparseGPT, windows never overlap: the
 * stream is cut into a grid of window-sized slots (at a random offset) and N distinct slots are
 * drawn, so no text is counted twice in the mean scores.
 */
import { UserError } from '../errors.js';
import { mulberry32, randomBelow, sampleDistinct } from './prng.js';
import type { CalibrationTokenizer } from './types.js';

export interface WindowSample {
  sequences: number[][];
  /** Tokens in the joined stream the windows were drawn from. */
  corpusTokens: number;
}

export interface WindowRequest {
  samples: number;
  /** Tokens per window, `prefix` included. */
  seqLen: number;
  seed: number;
  /** Special tokens that start every window (see special-tokens.ts). */
  prefix: readonly number[];
}

export function sampleWindows(
  source: string,
  texts: readonly string[],
  tokenizer: CalibrationTokenizer,
  { samples, seqLen, seed, prefix }: WindowRequest,
): WindowSample {
  const bodyLength = seqLen - prefix.length;
  if (bodyLength < 1) {
    throw new UserError(
      `a window of ${seqLen} tokens leaves no room for text after the tokenizer's ${prefix.length} special tokens`,
    );
  }
  const stream = tokenStream(texts, tokenizer);
  const needed = samples * bodyLength;
  if (stream.length < needed) {
    throw new UserError(
      `${source}: ${stream.length} tokens of text, too few for ${samples} windows of ${bodyLength} text tokens ` +
        `(${needed} needed): ask for fewer or shorter windows, or give more text`,
    );
  }
  const random = mulberry32(seed);
  const slots = Math.floor(stream.length / bodyLength);
  const offset = randomBelow(random, stream.length - slots * bodyLength + 1);
  const sequences = sampleDistinct(random, slots, samples).map((slot) => {
    const start = offset + slot * bodyLength;
    return [...prefix, ...stream.subarray(start, start + bodyLength)];
  });
  return { sequences, corpusTokens: stream.length };
}

/**
 * Each document is tokenized on its own, without special tokens, followed by the blank line that
 * separated it: the stream reads like the documents joined with "\n\n" (SparseGPT's wikitext
 * recipe) without one huge encode call.
 */
function tokenStream(texts: readonly string[], tokenizer: CalibrationTokenizer): Int32Array {
  const pieces = texts.map((text, index) =>
    tokenizer.encode(index < texts.length - 1 ? `${text}\n\n` : text, { addSpecialTokens: false }),
  );
  const stream = new Int32Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    stream.set(piece, at);
    at += piece.length;
  }
  return stream;
}
