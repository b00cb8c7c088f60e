/**
 * tokenizer.json and tokenizer_config.json for a GGUF's vocabulary, equal in behaviour to the
 * tokenizer transformers builds from the same file (AutoTokenizer.from_pretrained(dir,
 * gguf_file=...)): the family's pipeline, plus the added tokens and the BOS/EOS template that
 * transformers' add_gguf_special_tokens and update_post_processor give it.
 */
import { FileError } from '../errors.js';
import { byteLevelPipeline } from './byte-level-bpe.js';
import { type GgufVocab, TokenType } from './gguf-vocab.js';
import { phi3SentencePiecePipeline, sentencePiecePipeline } from './sentencepiece-bpe.js';
import type { TokenizerPipeline } from './tokenizer-pipeline.js';

const PIPELINES: Readonly<Record<string, (vocab: GgufVocab, file: string) => TokenizerPipeline>> = {
  gpt2: byteLevelPipeline,
  llama: sentencePiecePipeline,
};

export const SUPPORTED_TOKENIZERS = Object.keys(PIPELINES);

/** Architectures whose vocabulary of a kind is assembled differently ("<architecture>/<model>"). */
const ARCHITECTURE_PIPELINES: Readonly<Record<string, (vocab: GgufVocab, file: string) => TokenizerPipeline>> = {
  'phi3/llama': phi3SentencePiecePipeline,
};

export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** For a summary line: e.g. "gpt2 (byte-level BPE, pre smollm)". */
  description: string;
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/**
 * Tokens matched whole before the model sees the text: the ones marked CONTROL (special), the
 * named bos/eos/unk/pad tokens and the tokenizer class's default ones (special, as transformers
 * registers them), and the ones marked USER_DEFINED (not special). A name missing from the
 * vocabulary is skipped (transformers would append it under a new id the model has no row for).
 */
function addedTokens(vocab: GgufVocab, pipeline: TokenizerPipeline): AddedToken[] {
  const added = new Map<number, AddedToken>();
  const add = (content: string, special: boolean) => {
    const id = pipeline.vocab.get(content);
    if (id !== undefined && !added.has(id)) added.set(id, { id, content, special });
  };
  const types = vocab.tokenTypes ?? [];
  vocab.tokens.forEach((token, i) => {
    if (types[i] === TokenType.CONTROL && pipeline.canBeSpecial(token)) add(token, true);
  });
  for (const id of [vocab.bosId, vocab.eosId, vocab.unkId, vocab.padId]) if (id !== undefined) add(vocab.tokens[id], true);
  for (const token of pipeline.classSpecialTokens) add(token, true);
  vocab.tokens.forEach((token, i) => {
    if (types[i] === TokenType.USER_DEFINED) add(token, false);
  });
  return [...added.values()].sort((a, b) => a.id - b.id);
}

/** transformers' update_post_processor: "[bos:0] $A:0 [eos:0]" and "… [bos:1] $B:1 [eos:1]". */
function postProcessor(pipeline: TokenizerPipeline, bos: string | undefined, eos: string | undefined): Record<string, unknown> {
  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const single: unknown[] = [];
  const pair: unknown[] = [];
  const specialTokens: Record<string, unknown> = {};
  for (const [name, typeId] of [['A', 0], ['B', 1]] as const) {
    const part = typeId === 0 ? single : pair;
    if (bos !== undefined) part.push(special(bos, typeId));
    part.push(sequence(name, typeId));
    if (eos !== undefined) part.push(special(eos, typeId));
  }
  for (const token of [bos, eos]) {
    if (token !== undefined) specialTokens[token] = { id: token, ids: [pipeline.vocab.get(token)], tokens: [token] };
  }
  return { type: 'TemplateProcessing', single, pair: [...single, ...pair], special_tokens: specialTokens };
}

export function buildTokenizerFiles(vocab: GgufVocab, file: string, architecture?: string): TokenizerFiles {
  const build = ARCHITECTURE_PIPELINES[`${architecture}/${vocab.model}`] ?? PIPELINES[vocab.model];
  if (!build) throw new FileError(file, `tokenizer model "${vocab.model}" is not supported (supported: ${SUPPORTED_TOKENIZERS.join(', ')})`);
  const pipeline = build(vocab, file);
  const name = (id: number | undefined) => (id === undefined ? undefined : vocab.tokens[id]);
  const bos = name(vocab.bosId);
  const eos = name(vocab.eosId);
  // Without a token to add, the flag cannot hold (transformers turns it off the same way).
  const addBos = (vocab.addBos ?? pipeline.defaultAddBos) && bos !== undefined;
  const addEos = (vocab.addEos ?? false) && eos !== undefined;

  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(vocab, pipeline).map(({ id, content, special }) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special,
    })),
    normalizer: pipeline.normalizer,
    pre_tokenizer: pipeline.preTokenizer,
    post_processor: postProcessor(pipeline, addBos ? bos : undefined, addEos ? eos : undefined),
    decoder: pipeline.decoder,
    model: { ...pipeline.model, vocab: Object.fromEntries(pipeline.vocab), merges: pipeline.merges },
  };
  const tokenizerConfig: Record<string, unknown> = {
    // PreTrainedTokenizerFast takes tokenizer.json as it is; a class such as LlamaTokenizer would rebuild it.
    tokenizer_class: 'PreTrainedTokenizerFast',
    add_bos_token: addBos,
    add_eos_token: addEos,
    bos_token: bos ?? null,
    eos_token: eos ?? null,
    unk_token: name(vocab.unkId) ?? null,
    pad_token: name(vocab.padId) ?? null,
    clean_up_tokenization_spaces: false,
    chat_template: vocab.chatTemplate,
  };
  const description = vocab.model === 'gpt2' ? `gpt2 (byte-level BPE, pre ${vocab.pre ?? 'default'})` : `${vocab.model} (SentencePiece BPE)`;
  return { tokenizerJson, tokenizerConfig, description };
}
