import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { buildCalibration, loadCalibrationFile, type CalibrationCorpus, type SamplingOptions } from '../../src/calib/index.js';
import { ALPACA_FILE, WordTokenizer } from './helpers.js';

const BOS = WordTokenizer.BOS;

function corpus(texts: string[]): CalibrationCorpus {
  return { source: 'test.txt', format: 'text', texts, sha256: 'f'.repeat(64) };
}

/** `count` documents of `words` distinct words each: "d0w0 d0w1 ...", so any window shows where it came from. */
function numberedDocuments(count: number, words: number): string[] {
  return Array.from({ length: count }, (_, d) => Array.from({ length: words }, (_, w) => `d${d}w${w}`).join(' '));
}

const windows = (samples: number, seqLen: number, seed: number): SamplingOptions => ({ samples, seqLen, seed, mode: 'windows' });

describe('prompts (the paper)', () => {
  test('the first N records, each whole, with the tokenizer special tokens', () => {
    const tokenizer = new WordTokenizer();
    const { sequences, description } = buildCalibration(corpus(['a b c', 'd e', 'f g h i', 'j']), tokenizer, {
      samples: 3,
      seed: 0,
      mode: 'prompts',
    });
    assert.deepEqual(
      sequences.map((ids) => ids[0]),
      [BOS, BOS, BOS],
    );
    assert.deepEqual(
      sequences.map((ids) => tokenizer.decode(ids.slice(1))),
      ['a b c', 'd e', 'f g h i'],
    );
    assert.deepEqual(description, {
      source: 'test.txt',
      format: 'text',
      sha256: 'f'.repeat(64),
      mode: 'prompts',
      recordsAvailable: 4,
      recordsUsed: 3,
      samples: 3,
      seqLen: null,
      seed: null,
      totalTokens: 4 + 3 + 5,
      corpusTokens: null,
      prefixTokens: [BOS],
    });
  });

  test('seqLen cuts long prompts, keeping their beginning', () => {
    const tokenizer = new WordTokenizer();
    const { sequences, description } = buildCalibration(corpus(['a b c d e', 'f']), tokenizer, {
      samples: 2,
      seqLen: 3,
      seed: 0,
      mode: 'prompts',
    });
    assert.deepEqual(sequences.map((ids) => ids.length), [3, 2]);
    assert.equal(tokenizer.decode(sequences[0].slice(1)), 'a b');
    assert.equal(description.seqLen, 3);
    assert.equal(description.totalTokens, 5);
  });

  test('a tokenizer that adds no BOS (Phi-2, Qwen2) gives prompts without one', () => {
    const tokenizer = new WordTokenizer([]);
    const { sequences, description } = buildCalibration(corpus(['a b']), tokenizer, { samples: 1, seed: 0, mode: 'prompts' });
    assert.equal(tokenizer.decode(sequences[0]), 'a b');
    assert.deepEqual(description.prefixTokens, []);
  });

  test('asking for more prompts than records says how many there are', () => {
    assert.throws(
      () => buildCalibration(corpus(['a', 'b']), new WordTokenizer(), { samples: 3, seed: 0, mode: 'prompts' }),
      (error: Error) => error instanceof UserError && /^test\.txt: 2 records, fewer than the 3 calibration prompts/.test(error.message),
    );
  });

  test('the first 50 Alpaca prompts, as in the paper', async () => {
    const alpaca = await loadCalibrationFile(ALPACA_FILE);
    const tokenizer = new WordTokenizer();
    const { sequences, description } = buildCalibration(alpaca, tokenizer, { samples: 50, seed: 0, mode: 'prompts' });
    assert.equal(sequences.length, 50);
    assert.equal(tokenizer.decode(sequences[0].slice(1)), alpaca.texts[0].split(/\s+/).join(' '));
    assert.equal(description.recordsUsed, 50);
    assert.equal(description.recordsAvailable, 5000);
    assert.equal(description.format, 'alpaca');
  });
});

describe('windows (SparseGPT/Wanda)', () => {
  const documents = numberedDocuments(20, 50);

  test('N windows of seqLen tokens, each BOS then a contiguous run of the joined documents', () => {
    const tokenizer = new WordTokenizer();
    const { sequences, description } = buildCalibration(corpus(documents), tokenizer, windows(8, 16, 1));
    const stream = documents.join(' ').split(' ');
    assert.equal(sequences.length, 8);
    for (const ids of sequences) {
      assert.equal(ids.length, 16);
      assert.equal(ids[0], BOS);
      const words = tokenizer.decode(ids.slice(1)).split(' ');
      const start = stream.indexOf(words[0]);
      assert.deepEqual(words, stream.slice(start, start + 15));
    }
    assert.equal(description.corpusTokens, 1000);
    assert.equal(description.totalTokens, 8 * 16);
    assert.equal(description.recordsUsed, 20);
    assert.equal(description.seed, 1);
    assert.equal(description.seqLen, 16);
  });

  test('windows never overlap, even when they take up all the text', () => {
    const tokenizer = new WordTokenizer([]);
    const { sequences } = buildCalibration(corpus(documents), tokenizer, windows(100, 10, 3));
    const words = sequences.flatMap((ids) => tokenizer.decode(ids).split(' '));
    assert.equal(new Set(words).size, 1000);
  });

  test('the same seed gives the same windows; another seed, other windows', () => {
    const run = (seed: number) => buildCalibration(corpus(documents), new WordTokenizer(), windows(5, 12, seed)).sequences;
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  });

  test('windows land all over the text, not only at its start', () => {
    const tokenizer = new WordTokenizer([]);
    const { sequences } = buildCalibration(corpus(documents), tokenizer, windows(10, 10, 0));
    const documentsHit = new Set(sequences.map((ids) => tokenizer.decode(ids).split('w')[0]));
    assert.ok(documentsHit.size >= 5, `windows from only ${[...documentsHit].join(', ')}`);
  });

  test('the window length defaults to 128 tokens', () => {
    const { sequences, description } = buildCalibration(corpus(numberedDocuments(4, 200)), new WordTokenizer(), {
      samples: 2,
      seed: 0,
      mode: 'windows',
    });
    assert.deepEqual(sequences.map((ids) => ids.length), [128, 128]);
    assert.equal(description.seqLen, 128);
  });

  test('too little text says how many tokens there are and how many are needed', () => {
    assert.throws(
      () => buildCalibration(corpus(numberedDocuments(2, 30)), new WordTokenizer(), windows(5, 16, 0)),
      (error: Error) =>
        error instanceof UserError && /^test\.txt: 60 tokens of text, too few for 5 windows of 15 text tokens \(75 needed\)/.test(error.message),
    );
  });

  test('a window too short to hold text after the special tokens is refused', () => {
    const tokenizer = new WordTokenizer([1, 2]);
    assert.throws(() => buildCalibration(corpus(documents), tokenizer, windows(1, 2, 0)), /leaves no room for text after the tokenizer's 2 special tokens/);
  });

  test('each document is tokenized once, without special tokens', () => {
    const tokenizer = new WordTokenizer();
    buildCalibration(corpus(['one two', 'three four']), tokenizer, windows(1, 3, 0));
    // The probe for the special-token prefix, then the documents joined by blank lines.
    assert.deepEqual(tokenizer.calls.slice(2), ['one two\n\n', 'three four']);
  });
});

describe('sampling options', () => {
  const invalid: [string, SamplingOptions, RegExp][] = [
    ['zero samples', { samples: 0, seed: 0, mode: 'prompts' }, /samples must be a whole number of at least 1 \(got 0\)/],
    ['fractional samples', { samples: 1.5, seed: 0, mode: 'windows' }, /samples must be a whole number/],
    ['a one-token sequence', { samples: 1, seqLen: 1, seed: 0, mode: 'windows' }, /at least 2 tokens \(got 1\)/],
    ['a fractional seed', { samples: 1, seed: 0.5, mode: 'windows' }, /seed must be a whole number/],
  ];
  for (const [what, options, message] of invalid) {
    test(`${what} is a UserError`, () => {
      assert.throws(
        () => buildCalibration(corpus(['a b c d']), new WordTokenizer(), options),
        (error: Error) => error instanceof UserError && message.test(error.message),
      );
    });
  }
});
