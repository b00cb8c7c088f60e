/**
 * tokenizer.ggml.model "gpt2": byte-level BPE (GPT-2, LLaMA-3, SmolLM, Qwen2, ...), rebuilt the way
 * transformers' GGUF loader does (integrations/gguf/gguf_tokenizer_mapping.py byte_level_tokenizer
 * + set_split_regex): GPT2Tokenizer's pipeline, with the pre-tokenizer's split regex chosen by
 * tokenizer.ggml.pre where transformers knows one.
 */
import { FileError } from '../errors.js';
import type { GgufVocab } from './gguf-vocab.js';
import type { TokenizerPipeline } from './tokenizer-pipeline.js';

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to U+0100 onward. */
function byteAlphabet(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const chars: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) chars.push(String.fromCodePoint(printable(b) ? b : next++));
  return chars;
}

const BYTE_CHARS = byteAlphabet();
const ALPHABET = new Set(BYTE_CHARS);
const utf8 = new TextEncoder();

function inAlphabet(token: string): boolean {
  for (const char of token) if (!ALPHABET.has(char)) return false;
  return true;
}

/** A token stored as plain text (e.g. a raw space) spelled in the byte alphabet, as transformers does. */
function respell(token: string): string {
  if (inAlphabet(token)) return token;
  let spelled = '';
  for (const byte of utf8.encode(token)) spelled += BYTE_CHARS[byte];
  return spelled;
}

export const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN35_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const UPPER = '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]';
const LOWER = '[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]';
const TEKKEN_SPLIT = `[^\\r\\n\\p{L}\\p{N}]?${UPPER}*${LOWER}+|[^\\r\\n\\p{L}\\p{N}]?${UPPER}+${LOWER}*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const CONTRACTION = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?";
const GPT4O_SPLIT = `[^\\r\\n\\p{L}\\p{N}]?${UPPER}*${LOWER}+${CONTRACTION}|[^\\r\\n\\p{L}\\p{N}]?${UPPER}+${LOWER}*${CONTRACTION}|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

/**
 * transformers' GGUF_PRE_TOKENIZER_SPLITS. Any other value ("default", "gpt-2", "smollm", ...) keeps
 * GPT-2's own regex inside ByteLevel; for SmolLM, whose merges never join digits, that splits
 * the same as llama.cpp's digit-by-digit "smollm" rule.
 */
const PRE_TOKENIZER_SPLITS: Readonly<Record<string, string>> = {
  llama3: LLAMA3_SPLIT,
  'llama-v3': LLAMA3_SPLIT,
  'llama-bpe': LLAMA3_SPLIT,
  falcon3: LLAMA3_SPLIT,
  'falcon-h1': LLAMA3_SPLIT,
  pixtral: LLAMA3_SPLIT,
  'midm-2.0': LLAMA3_SPLIT,
  lfm2: LLAMA3_SPLIT,
  'jina-v5-nano': LLAMA3_SPLIT,
  dbrx: LLAMA3_SPLIT,
  'smaug-bpe': LLAMA3_SPLIT,
  tekken: TEKKEN_SPLIT,
  qwen2: QWEN2_SPLIT,
  'deepseek-r1-qwen': QWEN2_SPLIT,
  kormo: QWEN2_SPLIT,
  f2llmv2: QWEN2_SPLIT,
  megrez: QWEN2_SPLIT,
  qwen35: QWEN35_SPLIT,
  'gpt-4o': GPT4O_SPLIT,
  llama4: GPT4O_SPLIT,
  kanana2: GPT4O_SPLIT,
  talkie: GPT4O_SPLIT,
  'minimax-m2': GPT4O_SPLIT,
};

function preTokenizer(pre: string | undefined): Record<string, unknown> {
  const split = pre === undefined ? undefined : PRE_TOKENIZER_SPLITS[pre];
  if (split === undefined) return { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: split }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

export function byteLevelPipeline(vocab: GgufVocab, file: string): TokenizerPipeline {
  if (!vocab.merges) throw new FileError(file, 'a gpt2 (byte-level BPE) tokenizer needs tokenizer.ggml.merges, which is missing');
  const ids = new Map<string, number>();
  vocab.tokens.forEach((token, id) => ids.set(respell(token), id));
  return {
    vocab: ids,
    merges: vocab.merges.map((merge) => merge.split(' ')),
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false },
    normalizer: null,
    preTokenizer: preTokenizer(vocab.pre),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    // A control token spelled outside the byte alphabet is a llama.cpp mislabel (transformers skips it).
    canBeSpecial: inAlphabet,
    classSpecialTokens: ['<|endoftext|>'],
    defaultAddBos: false,
  };
}
