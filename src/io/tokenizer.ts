/**
 * A model folder's tokenizer (tokenizer.json + tokenizer_config.json), behaving like
 * transformers 5's AutoTokenizer on the same folder.
 *
 * Which special tokens `encode` adds: transformers 5 ignores add_bos_token/add_eos_token in
 * tokenizer_config.json whenever tokenizer.json exists, and applies tokenizer.json's post_processor
 * (TemplateProcessing adds <s> for LLaMA-2/Mistral, <|begin_of_text|> for LLaMA-3; none for Phi-2,
 * Qwen2 or SmolLM). So we apply that post_processor as is, whatever the config flags say.
 * (transformers 4 let add_bos_token override it for LLaMA-class tokenizers: a Phi-3 config saying
 * add_bos_token=false while its tokenizer.json adds <s> gets BOS in 5, not in 4.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { FileError, UserError } from '../errors.js';

export interface EncodeOptions {
  /** add BOS/EOS as the tokenizer's post-processor says (transformers' add_special_tokens); default true */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** drop special tokens from the text; default false, as in transformers */
  skipSpecialTokens?: boolean;
}

export interface ModelTokenizer {
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** ids of the named special tokens; undefined when the tokenizer names none or lacks the token */
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  /** distinct ids: base vocabulary plus added tokens (transformers' len(tokenizer)) */
  readonly vocabSize: number;
}

const SUPPORTED_MODELS = ['BPE', 'Unigram', 'WordPiece'];

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON object in `file`; undefined when the file does not exist. */
async function readJsonObject(file: string): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new FileError(file, `cannot be read (${code})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FileError(file, `not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw new FileError(file, 'not a JSON object');
  return parsed;
}

/** A special token as configs write it: "<s>", {"content": "<s>", ...} or null. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/**
 * bos/eos/pad strings. Like transformers 5, special_tokens_map.json (a legacy file) overrides
 * tokenizer_config.json only when the latter has no added_tokens_decoder.
 */
function specialTokens(config: JsonObject, legacyMap: JsonObject | undefined): JsonObject {
  return legacyMap && !('added_tokens_decoder' in config) ? { ...config, ...legacyMap } : config;
}

function countIds(file: string, model: JsonObject, addedTokens: unknown): number {
  const ids = new Set<number>();
  if (Array.isArray(model.vocab)) {
    model.vocab.forEach((_, id) => ids.add(id)); // Unigram: [piece, score] by id
  } else if (isObject(model.vocab)) {
    for (const id of Object.values(model.vocab)) if (typeof id === 'number') ids.add(id);
  } else {
    throw new FileError(file, 'model.vocab is missing');
  }
  if (Array.isArray(addedTokens)) {
    for (const token of addedTokens) if (isObject(token) && typeof token.id === 'number') ids.add(token.id);
  }
  return ids.size;
}

export async function loadTokenizer(modelDir: string): Promise<ModelTokenizer> {
  const tokenizerFile = join(modelDir, 'tokenizer.json');
  const tokenizerJson = await readJsonObject(tokenizerFile);
  if (!tokenizerJson) {
    throw new FileError(
      tokenizerFile,
      'not found — the model folder needs the fast-tokenizer file ' +
        '(AutoTokenizer.from_pretrained(model).save_pretrained(folder) writes it)',
    );
  }
  const config = (await readJsonObject(join(modelDir, 'tokenizer_config.json'))) ?? {};
  const legacyMap = await readJsonObject(join(modelDir, 'special_tokens_map.json'));

  const model = tokenizerJson.model;
  if (!isObject(model)) throw new FileError(tokenizerFile, 'has no "model" section (not a tokenizers file?)');
  if (typeof model.type !== 'string' || !SUPPORTED_MODELS.includes(model.type)) {
    const kind = typeof model.type === 'string' ? `"${model.type}"` : '(unnamed)';
    throw new FileError(tokenizerFile, `tokenizer model ${kind} is not supported (${SUPPORTED_MODELS.join(', ')} are)`);
  }
  const vocabSize = countIds(tokenizerFile, model, tokenizerJson.added_tokens);

  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, config);
  } catch (error) {
    throw new FileError(tokenizerFile, `cannot be used: ${(error as Error).message.split('\n')[0]}`);
  }

  // A tokenizer.json that constructs can still hold values tokenizers.js trips over only when
  // used (a TypeError deep inside it): that is the file's fault, named as such, never an internal error.
  const guarded = <T>(what: string, action: () => T): T => {
    try {
      return action();
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new FileError(tokenizerFile, `cannot be used to ${what}: ${(error as Error).message.split('\n')[0]}`);
    }
  };
  const named = guarded('read its special tokens', () => specialTokens(config, legacyMap));
  const idOf = (key: string): number | undefined => {
    const content = tokenContent(named[key]);
    return content === undefined ? undefined : guarded('look up special tokens', () => tokenizer.token_to_id(content));
  };
  // transformers 5 defaults to no clean-up; tokenizers.js would default to clean-up.
  const cleanUpSpaces = config.clean_up_tokenization_spaces === true;

  return {
    encode: (text, { addSpecialTokens = true } = {}) =>
      guarded('encode text', () => tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids),
    decode: (ids, { skipSpecialTokens = false } = {}) =>
      ids.length === 0
        ? '' // tokenizers.js rejects an empty list
        : guarded('decode tokens', () =>
            tokenizer.decode([...ids], {
              skip_special_tokens: skipSpecialTokens,
              clean_up_tokenization_spaces: cleanUpSpaces,
            }),
          ),
    bosId: idOf('bos_token'),
    eosId: idOf('eos_token'),
    padId: idOf('pad_token'),
    vocabSize,
  };
}
