/**
 * Sampling through the real @huggingface/tokenizers library (the engine behind src/io/tokenizer.ts)
 * on a tiny letter-level tokenizer.json: BOS comes from its TemplateProcessing post-processor, as
 * for LLaMA, and must start every prompt and window exactly once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { buildCalibration, type CalibrationCorpus, type CalibrationTokenizer } from '../../src/calib/index.js';

const BOS = 1;

function letterTokenizer(withBos: boolean): CalibrationTokenizer {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': BOS };
  [...'abcdefghijklmnopqrstuvwxyz'].forEach((letter, i) => (vocab[letter] = 2 + i));
  const bosTemplate = {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [BOS], tokens: ['<s>'] } },
  };
  const tokenizer = new Tokenizer(
    {
      version: '1.0',
      added_tokens: [{ id: BOS, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
      normalizer: null,
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: withBos ? bosTemplate : null,
      decoder: null,
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', fuse_unk: false, byte_fallback: false, vocab, merges: [] },
    },
    {},
  );
  return { encode: (text, options) => tokenizer.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true }).ids };
}

const corpus: CalibrationCorpus = {
  source: 'letters.txt',
  format: 'text',
  texts: ['the quick brown fox', 'jumps over the lazy dog', 'pack my box with five dozen liquor jugs'],
  sha256: '0'.repeat(64),
};

describe('with a real tokenizer.json', () => {
  test('prompts start with the BOS its post-processor adds, once', () => {
    const { sequences, description } = buildCalibration(corpus, letterTokenizer(true), { samples: 2, seed: 0, mode: 'prompts' });
    assert.deepEqual(description.prefixTokens, [BOS]);
    assert.deepEqual(sequences.map((ids) => ids.length), [1 + 16, 1 + 19]);
    assert.ok(sequences.every((ids) => ids[0] === BOS && !ids.slice(1).includes(BOS)));
  });

  test('windows start with BOS, once, and hold seqLen tokens', () => {
    const { sequences } = buildCalibration(corpus, letterTokenizer(true), { samples: 4, seqLen: 16, seed: 9, mode: 'windows' });
    assert.ok(sequences.every((ids) => ids.length === 16 && ids[0] === BOS && !ids.slice(1).includes(BOS)));
  });

  test('without a post-processor there is no prefix', () => {
    const { sequences, description } = buildCalibration(corpus, letterTokenizer(false), {
      samples: 4,
      seqLen: 16,
      seed: 9,
      mode: 'windows',
    });
    assert.deepEqual(description.prefixTokens, []);
    assert.ok(sequences.every((ids) => ids.length === 16 && !ids.includes(BOS)));
  });
});
