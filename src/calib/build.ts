/** From a corpus to the token sequences the scoring pass runs, with their provenance. */
import { UserError } from '../errors.js';
import { DEFAULT_WINDOW_LENGTH } from './defaults.js';
import { samplePrompts } from './sample-prompts.js';
import { sampleWindows } from './sample-windows.js';
import { specialTokenPrefix } from './special-tokens.js';
import type { Calibration, CalibrationCorpus, CalibrationTokenizer, SamplingOptions } from './types.js';

export function buildCalibration(
  corpus: CalibrationCorpus,
  tokenizer: CalibrationTokenizer,
  options: SamplingOptions,
): Calibration {
  const { samples, seqLen, seed, mode } = validated(options);
  const prefix = specialTokenPrefix(tokenizer);
  const windowLength = seqLen ?? DEFAULT_WINDOW_LENGTH;
  const sampled =
    mode === 'prompts'
      ? { ...samplePrompts(corpus.source, corpus.texts, tokenizer, samples, seqLen), corpusTokens: null }
      : {
          ...sampleWindows(corpus.source, corpus.texts, tokenizer, { samples, seqLen: windowLength, seed, prefix }),
          recordsUsed: corpus.texts.length,
        };
  const { sequences } = sampled;
  return {
    sequences,
    description: {
      source: corpus.source,
      format: corpus.format,
      sha256: corpus.sha256,
      ...(corpus.license === undefined ? {} : { license: corpus.license }),
      ...(corpus.note === undefined ? {} : { note: corpus.note }),
      mode,
      recordsAvailable: corpus.texts.length,
      recordsUsed: sampled.recordsUsed,
      samples,
      seqLen: mode === 'windows' ? windowLength : (seqLen ?? null),
      seed: mode === 'windows' ? seed : null,
      totalTokens: sequences.reduce((sum, sequence) => sum + sequence.length, 0),
      corpusTokens: sampled.corpusTokens,
      prefixTokens: prefix,
    },
  };
}

function validated(options: SamplingOptions): SamplingOptions {
  const { samples, seqLen, seed, mode } = options;
  if (!Number.isInteger(samples) || samples < 1) {
    throw new UserError(`calibration samples must be a whole number of at least 1 (got ${samples})`);
  }
  if (seqLen !== undefined && (!Number.isInteger(seqLen) || seqLen < 2)) {
    throw new UserError(`calibration sequence length must be a whole number of at least 2 tokens (got ${seqLen})`);
  }
  if (!Number.isSafeInteger(seed)) throw new UserError(`calibration seed must be a whole number (got ${seed})`);
  if (mode !== 'prompts' && mode !== 'windows') {
    throw new UserError(`calibration mode must be prompts or windows (got ${String(mode)})`);
  }
  return options;
}
