/** The tokenizer.ggml.* metadata llama.cpp stores in place of tokenizer files, read and checked. */
import { FileError } from '../errors.js';
import type { GgufMetadata } from '../io/gguf/metadata.js';

/** llama.cpp's token types (tokenizer.ggml.token_type). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface GgufVocab {
  /** tokenizer.ggml.model: "llama" (SentencePiece), "gpt2" (byte-level BPE), ... */
  model: string;
  /** tokenizer.ggml.pre: which pre-tokenizer split the merges were learned with (byte-level BPE). */
  pre: string | undefined;
  tokens: readonly string[];
  scores: readonly number[] | undefined;
  tokenTypes: readonly number[] | undefined;
  /** "left right" pairs in merge order. */
  merges: readonly string[] | undefined;
  bosId: number | undefined;
  eosId: number | undefined;
  unkId: number | undefined;
  padId: number | undefined;
  addBos: boolean | undefined;
  addEos: boolean | undefined;
  chatTemplate: string | undefined;
}

export function readGgufVocab(metadata: GgufMetadata): GgufVocab {
  const file = metadata.file;
  const tokens = metadata.strings('tokenizer.ggml.tokens');
  if (!tokens) throw new FileError(file, 'has no tokenizer (metadata tokenizer.ggml.tokens is missing)');
  const perToken = (key: string): readonly number[] | undefined => {
    const values = metadata.numbers(key);
    if (values && values.length !== tokens.length) throw new FileError(file, `metadata ${key} has ${values.length} entries for ${tokens.length} tokens`);
    return values;
  };
  const tokenId = (key: string): number | undefined => {
    const id = metadata.integer(key);
    if (id !== undefined && (id < 0 || id >= tokens.length)) throw new FileError(file, `metadata ${key} is ${id}, outside the vocabulary of ${tokens.length}`);
    return id;
  };
  return {
    model: metadata.requireString('tokenizer.ggml.model'),
    pre: metadata.string('tokenizer.ggml.pre'),
    tokens,
    scores: perToken('tokenizer.ggml.scores'),
    tokenTypes: perToken('tokenizer.ggml.token_type'),
    merges: metadata.strings('tokenizer.ggml.merges'),
    bosId: tokenId('tokenizer.ggml.bos_token_id'),
    eosId: tokenId('tokenizer.ggml.eos_token_id'),
    unkId: tokenId('tokenizer.ggml.unknown_token_id'),
    padId: tokenId('tokenizer.ggml.padding_token_id'),
    addBos: metadata.bool('tokenizer.ggml.add_bos_token'),
    addEos: metadata.bool('tokenizer.ggml.add_eos_token'),
    chatTemplate: metadata.string('tokenizer.chat_template'),
  };
}
