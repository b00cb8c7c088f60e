/**
 * tokenizer.ggml.model "llama": a SentencePiece BPE vocabulary (LLaMA 1/2, Mistral, TinyLlama...),
 * rebuilt as transformers' GGUF loader does (gguf_tokenizer_mapping.py sentencepiece_tokenizer ->
 * LlamaTokenizer): BPE with byte fallback, a Metaspace pre-tokenizer adding "▁" before the first
 * word only (legacy=False), and merges from the file or, as usual for SentencePiece files,
 * derived from the token scores.
 */
import { FileError } from '../errors.js';
import type { GgufVocab } from './gguf-vocab.js';
import type { TokenizerPipeline } from './tokenizer-pipeline.js';

interface Candidate {
  left: string;
  right: string;
  score: number;
  leftLength: number;
  rightLength: number;
}

/**
 * transformers' generate_merges(vocab, vocab_scores): every split of a token into two vocabulary
 * pieces is a merge; within a token by (left id, right id), then all of them best score first,
 * longer left piece first, longer right piece first (a stable sort, as Python's). Lengths and
 * splits count code points, as Python's str does.
 */
export function mergesFromScores(tokens: readonly string[], scores: readonly number[]): string[][] {
  const ids = new Map<string, number>();
  const scoreOf = new Map<string, number>();
  tokens.forEach((token, id) => {
    ids.set(token, id);
    scoreOf.set(token, scores[id]);
  });
  const candidates: Candidate[] = [];
  for (const [token, score] of scoreOf) {
    const chars = Array.from(token);
    const local: Candidate[] = [];
    for (let cut = 1; cut < chars.length; cut++) {
      const left = chars.slice(0, cut).join('');
      const right = chars.slice(cut).join('');
      if (ids.has(left) && ids.has(right)) local.push({ left, right, score, leftLength: cut, rightLength: chars.length - cut });
    }
    local.sort((a, b) => (ids.get(a.left) ?? 0) - (ids.get(b.left) ?? 0) || (ids.get(a.right) ?? 0) - (ids.get(b.right) ?? 0));
    for (const candidate of local) candidates.push(candidate);
  }
  candidates.sort((a, b) => descending(a.score, b.score) || b.leftLength - a.leftLength || b.rightLength - a.rightLength);
  return candidates.map(({ left, right }) => [left, right]);
}

/** For a descending sort that is also safe for infinite scores (a difference could be NaN). */
function descending(a: number, b: number): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

export function sentencePiecePipeline(vocab: GgufVocab, file: string): TokenizerPipeline {
  let merges: string[][];
  if (vocab.merges) merges = vocab.merges.map((merge) => merge.split(' '));
  else if (vocab.scores) merges = mergesFromScores(vocab.tokens, vocab.scores);
  else throw new FileError(file, 'a llama (SentencePiece) tokenizer needs tokenizer.ggml.scores or tokenizer.ggml.merges; both are missing');
  const ids = new Map<string, number>();
  vocab.tokens.forEach((token, id) => ids.set(token, id));
  return {
    vocab: ids,
    merges,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false },
    normalizer: null,
    preTokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    canBeSpecial: () => true,
    classSpecialTokens: ['<unk>', '<s>', '</s>'],
    // llama.cpp adds BOS to a SentencePiece vocabulary that does not say otherwise; so does transformers.
    defaultAddBos: true,
  };
}

/**
 * Phi-3's SentencePiece: the prefix space and the space-to-▁ spelling come from a normalizer
 * instead of Metaspace, as transformers' GGUF loader rebuilds it (phi3_tokenizer). It differs only
 * on text that starts with a space ("  hi" -> ▁▁▁hi, not ▁▁hi).
 */
export function phi3SentencePiecePipeline(vocab: GgufVocab, file: string): TokenizerPipeline {
  return {
    ...sentencePiecePipeline(vocab, file),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    preTokenizer: null,
  };
}
