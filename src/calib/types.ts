/**
 * The vocabulary of calibration: a corpus of texts with its provenance, and the token sequences
 * sampled from it for the scoring pass.
 */

/** How a calibration file is laid out; each record becomes one text of the corpus. */
export type CalibrationFormat =
  /** A JSON array of {instruction, input, output} records (Stanford Alpaca and alpaca-cleaned). */
  | 'alpaca'
  /** JSON Lines: one object per line with a string `text` field. */
  | 'jsonl'
  /** Plain text, split into documents at blank lines. */
  | 'text';

export const CALIBRATION_FORMATS: readonly CalibrationFormat[] = ['alpaca', 'jsonl', 'text'];

/**
 * How texts become token sequences:
 * - prompts: the paper's way: the first N texts, one sequence each, whole (AMP-SPEC "Calibration");
 * - windows: SparseGPT/Wanda's way: the texts concatenated, N seeded random windows of a fixed length.
 */
export type SamplingMode = 'prompts' | 'windows';

export const SAMPLING_MODES: readonly SamplingMode[] = ['prompts', 'windows'];

/** Texts to calibrate on, with what a run records about where they came from. */
export interface CalibrationCorpus {
  /** The file path as given, or `npm:<package>@<version>` for the built-in text. */
  source: string;
  format: CalibrationFormat;
  /** One prompt or document per record, in file order; none is empty. */
  texts: string[];
  /** Hex sha256 of the file's bytes (or, for the built-in text, of its texts joined by "\n\n"). */
  sha256: string;
  /** Licence of the text, when known (the built-in text's; a user's file says nothing about its own). */
  license?: string;
  /** One line on what the text is, when the source is not self-explanatory. */
  note?: string;
}

/**
 * The part of a tokenizer calibration needs (src/io/tokenizer.ts's ModelTokenizer fits it).
 * `addSpecialTokens` defaults to true: BOS/EOS as the model's post-processor adds them.
 */
export interface CalibrationTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

export interface SamplingOptions {
  /** How many sequences (prompts or windows); at least 1. */
  samples: number;
  /**
   * Tokens per sequence, special tokens included, at least 2. Windows: the window length (default
   * DEFAULT_WINDOW_LENGTH). Prompts: longer prompts are cut to this; absent = no truncation (the paper).
   */
  seqLen?: number;
  /** Seeds window placement; prompts ignore it (they are the first N records). */
  seed: number;
  mode: SamplingMode;
}

/** Provenance of a calibration set, as written into a run's metadata. */
export interface CalibrationDescription {
  source: string;
  format: CalibrationFormat;
  sha256: string;
  license?: string;
  note?: string;
  mode: SamplingMode;
  /** Records in the source / records whose tokens went into the sample (windows: all tokenized). */
  recordsAvailable: number;
  recordsUsed: number;
  samples: number;
  /** Windows: their length; prompts: the truncation length, or null when prompts are whole. */
  seqLen: number | null;
  /** Null for prompts, which involve no randomness. */
  seed: number | null;
  /** Tokens across all returned sequences. */
  totalTokens: number;
  /** Windows: tokens in the concatenated corpus they were drawn from; prompts: null. */
  corpusTokens: number | null;
  /** Special tokens the tokenizer puts before a text (e.g. BOS), which start every sequence. */
  prefixTokens: number[];
}

export interface Calibration {
  sequences: number[][];
  description: CalibrationDescription;
}
