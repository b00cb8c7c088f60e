/**
 * A model folder's tokenizer as the tokenizer.ggml.* metadata llama.cpp builds its vocabulary
 * from (the direction opposite to src/convert/tokenizer-files.ts). Two kinds:
 *  - byte-level BPE (tokenizer.ggml.model "gpt2"): tokenizer.ggml.pre names the pre-tokenizer
 *    split, which llama.cpp hard-codes per name, so only splits llama.cpp knows by name pass;
 *  - SentencePiece-style BPE with byte fallback (LLaMA-1/2, "llama"): llama.cpp merges by score,
 *    so scores are derived from the merge ranks. llama.cpp always puts ▁ before the text, where
 *    transformers' Metaspace ("first") does not when the text already starts with a space or
 *    follows a special token: those two cases tokenize differently, ordinary text alike.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError } from '../../errors.js';
import { LLAMA3_SPLIT, QWEN2_SPLIT } from '../../convert/byte-level-bpe.js';
import { TokenType } from '../../convert/gguf-vocab.js';
import { type KvEntry, bool, str, u32 } from './metadata-writer.js';

type Json = Record<string, unknown>;

async function readJson(file: string, required: boolean): Promise<Json | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(file, `cannot read: ${(error as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch (error) {
    throw new FileError(file, `not valid JSON (${(error as Error).message})`);
  }
  throw new FileError(file, 'not a JSON object');
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function isByteLevel(p: unknown, useRegex: boolean): boolean {
  return isObject(p) && p.type === 'ByteLevel' && (p.use_regex ?? true) === useRegex && !p.add_prefix_space;
}

/** llama.cpp's pre-tokenizer name for the HF pre_tokenizer, or undefined when it has none. */
function preTokenizerName(pre: unknown): string | undefined {
  if (isByteLevel(pre, true)) return 'gpt-2';
  if (!isObject(pre) || pre.type !== 'Sequence' || !Array.isArray(pre.pretokenizers)) return undefined;
  const [first, second, ...rest] = pre.pretokenizers as unknown[];
  if (rest.length > 0 || !isObject(first)) return undefined;
  // SmolLM: digits one by one, then GPT-2's split (llama.cpp's "smollm").
  if (first.type === 'Digits' && first.individual_digits === true && isByteLevel(second, true)) return 'smollm';
  const pattern = isObject(first.pattern) ? first.pattern.Regex : undefined;
  if (first.type !== 'Split' || first.behavior !== 'Isolated' || first.invert || !isByteLevel(second, false)) return undefined;
  // A regex split before regex-free byte-level: llama.cpp names each by its split.
  if (pattern === LLAMA3_SPLIT) return 'llama-bpe';
  if (pattern === QWEN2_SPLIT) return 'qwen2';
  return undefined;
}

const BYTE_TOKEN = /^<0x[0-9A-F]{2}>$/;

/** Metaspace with ▁ put before the first word only and no split: what llama.cpp's SentencePiece tokenizer does. */
function isSentencePieceSplit(pre: unknown): boolean {
  return isObject(pre) && pre.type === 'Metaspace' && pre.replacement === '\u2581' && pre.prepend_scheme === 'first' && pre.split === false;
}

/**
 * llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined token scores highest;
 * the BPE model merges the pair of lowest merge rank. Scoring each token by minus the rank of the
 * merge that makes it orders the merges alike. Tokens no merge makes (characters, bytes, special
 * tokens) are never merge results here, so their score only has to rank below every merge.
 */
function mergeScores(tokens: readonly string[], merges: readonly string[]): number[] {
  const rank = new Map<string, number>();
  merges.forEach((merge, r) => {
    const joined = merge.replace(' ', '');
    if (!rank.has(joined)) rank.set(joined, r);
  });
  const floor = -(merges.length + 1);
  return tokens.map((token) => {
    const r = rank.get(token);
    return r === undefined ? floor : -r;
  });
}

/** The TemplateProcessing among the post-processors, if any. */
function template(post: unknown): Json | undefined {
  if (!isObject(post)) return undefined;
  if (post.type === 'TemplateProcessing') return post;
  if (post.type === 'Sequence' && Array.isArray(post.processors)) return (post.processors as unknown[]).map(template).find((t) => t !== undefined);
  return undefined;
}

/** Which special tokens the post-processor puts before and after a single sequence. */
function addedAround(post: unknown): { first?: string; last?: string } {
  const single = template(post)?.single;
  if (!Array.isArray(single) || single.length === 0) return {};
  const special = (item: unknown) => (isObject(item) && isObject(item.SpecialToken) ? String(item.SpecialToken.id) : undefined);
  return { first: special(single[0]), last: single.length > 1 ? special(single[single.length - 1]) : undefined };
}

function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

export interface TokenizerMetadata {
  entries: KvEntry[];
  /** For the summary: e.g. "gpt2 (byte-level BPE, pre smollm), 700 tokens". */
  description: string;
}

/** tokenizer.ggml.* for a vocabulary of `vocabSize` rows (the embedding's; ids past the tokenizer become unused pads). */
export async function tokenizerMetadata(modelDir: string, vocabSize: number, config: Json): Promise<TokenizerMetadata> {
  const file = path.join(modelDir, 'tokenizer.json');
  const tokenizer = (await readJson(file, true))!;
  const tokenizerConfig = (await readJson(path.join(modelDir, 'tokenizer_config.json'), false)) ?? {};
  const model = isObject(tokenizer.model) ? tokenizer.model : {};
  const byteLevel = model.type === 'BPE' && isObject(tokenizer.decoder) && tokenizer.decoder.type === 'ByteLevel';
  const sentencePiece = model.type === 'BPE' && model.byte_fallback === true && isSentencePieceSplit(tokenizer.pre_tokenizer);
  if (!byteLevel && !sentencePiece) {
    throw new FileError(file, `tokenizer ${String(model.type ?? 'of unknown type')} is neither byte-level BPE nor SentencePiece-style BPE (byte fallback, Metaspace), the kinds GGUF export supports`);
  }
  const pre = byteLevel ? preTokenizerName(tokenizer.pre_tokenizer) : undefined;
  if (byteLevel && !pre) throw new FileError(file, 'its pre_tokenizer is not one llama.cpp knows by name (supported: GPT-2 ByteLevel, SmolLM digits + ByteLevel, LLaMA-3 split)');

  const tokens: (string | undefined)[] = new Array(vocabSize).fill(undefined);
  const types: number[] = new Array(vocabSize).fill(TokenType.NORMAL);
  const place = (content: string, id: unknown, type: number) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new FileError(file, `token ${JSON.stringify(content)} has an invalid id ${JSON.stringify(id)}`);
    if (id >= vocabSize) throw new FileError(file, `token ${JSON.stringify(content)} has id ${id}, beyond the model's vocab_size ${vocabSize}`);
    tokens[id] = content;
    types[id] = type;
  };
  if (!isObject(model.vocab)) throw new FileError(file, 'model.vocab is missing');
  for (const [content, id] of Object.entries(model.vocab)) place(content, id, sentencePiece && BYTE_TOKEN.test(content) ? TokenType.BYTE : TokenType.NORMAL);
  for (const added of Array.isArray(tokenizer.added_tokens) ? (tokenizer.added_tokens as unknown[]) : []) {
    if (!isObject(added) || typeof added.content !== 'string') throw new FileError(file, 'added_tokens has an entry without content');
    place(added.content, added.id, added.special ? TokenType.CONTROL : TokenType.USER_DEFINED);
  }
  // As llama.cpp's converter does for an embedding wider than the tokenizer.
  for (let id = 0; id < vocabSize; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TokenType.UNUSED;
    }
  }
  const merges = (Array.isArray(model.merges) ? (model.merges as unknown[]) : []).map((m) => (Array.isArray(m) ? m.join(' ') : String(m)));

  const idOf = new Map(tokens.map((t, i) => [t!, i]));
  const special = (name: string): number | undefined => {
    const fromTokenizer = tokenName(tokenizerConfig[`${name}_token`]);
    if (fromTokenizer !== undefined && idOf.has(fromTokenizer)) return idOf.get(fromTokenizer);
    const fromConfig = config[`${name}_token_id`];
    return typeof fromConfig === 'number' && fromConfig >= 0 && fromConfig < vocabSize ? fromConfig : undefined;
  };
  const bos = special('bos');
  const eos = special('eos');
  const pad = special('pad');
  const unk = special('unk');
  const around = addedAround(tokenizer.post_processor);

  if (sentencePiece && unk !== undefined) types[unk] = TokenType.UNKNOWN;
  const entries: KvEntry[] = byteLevel
    ? [
        ['tokenizer.ggml.model', str('gpt2')],
        ['tokenizer.ggml.pre', str(pre!)],
        ['tokenizer.ggml.tokens', { type: 'array', item: 'string', values: tokens as string[] }],
        ['tokenizer.ggml.token_type', { type: 'array', item: 'i32', values: types }],
        ['tokenizer.ggml.merges', { type: 'array', item: 'string', values: merges }],
      ]
    : [
        ['tokenizer.ggml.model', str('llama')],
        ['tokenizer.ggml.tokens', { type: 'array', item: 'string', values: tokens as string[] }],
        ['tokenizer.ggml.scores', { type: 'array', item: 'f32', values: mergeScores(tokens as string[], merges) }],
        ['tokenizer.ggml.token_type', { type: 'array', item: 'i32', values: types }],
        ['tokenizer.ggml.add_space_prefix', bool(true)],
      ];
  if (bos !== undefined) entries.push(['tokenizer.ggml.bos_token_id', u32(bos)]);
  if (eos !== undefined) entries.push(['tokenizer.ggml.eos_token_id', u32(eos)]);
  if (unk !== undefined) entries.push(['tokenizer.ggml.unknown_token_id', u32(unk)]);
  if (pad !== undefined) entries.push(['tokenizer.ggml.padding_token_id', u32(pad)]);
  // Stated either way: llama.cpp's default for gpt2 vocabularies differs between versions.
  entries.push(['tokenizer.ggml.add_bos_token', bool(bos !== undefined && around.first === tokens[bos])]);
  entries.push(['tokenizer.ggml.add_eos_token', bool(eos !== undefined && around.last === tokens[eos])]);
  if (typeof tokenizerConfig.chat_template === 'string') entries.push(['tokenizer.chat_template', str(tokenizerConfig.chat_template)]);
  const description = byteLevel ? `gpt2 (byte-level BPE, pre ${pre}), ${vocabSize} tokens` : `llama (SentencePiece-style BPE with byte fallback), ${vocabSize} tokens`;
  return { entries, description };
}
