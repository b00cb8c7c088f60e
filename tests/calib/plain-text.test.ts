import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCalibrationFile } from '../../src/calib/index.js';
import { tempFile } from './helpers.js';

describe('plain text', () => {
  test('is split into documents at blank lines; line breaks inside a document stay', async () => {
    const text = '\n\nFirst paragraph,\nwrapped at a column.\n\nSecond one.\n \t \nThird.\r\n\r\nFourth.\n\n\n';
    const corpus = await loadCalibrationFile(await tempFile('corpus.txt', text));
    assert.equal(corpus.format, 'text');
    assert.deepEqual(corpus.texts, ['First paragraph,\nwrapped at a column.', 'Second one.', 'Third.', 'Fourth.']);
  });

  test('a text without blank lines is one document', async () => {
    const corpus = await loadCalibrationFile(await tempFile('corpus.txt', 'one\ntwo\nthree\n'));
    assert.deepEqual(corpus.texts, ['one\ntwo\nthree']);
  });

  test('.txt is text even when it starts like JSON', async () => {
    for (const start of ['[Applause] Thank you.', '{braces} in prose.']) {
      const corpus = await loadCalibrationFile(await tempFile('speech.txt', `${start}\n\nMore.`));
      assert.equal(corpus.format, 'text');
      assert.equal(corpus.texts[0], start);
    }
  });

  test('prose with another extension, or none, is text', async () => {
    for (const name of ['corpus', 'corpus.raw', 'notes.md']) {
      const corpus = await loadCalibrationFile(await tempFile(name, 'Plain prose here.\n'));
      assert.equal(corpus.format, 'text', name);
    }
  });

  test('the format can be forced, e.g. for prose saved as .json', async () => {
    const file = await tempFile('prose.json', 'Not JSON at all.\n\nSecond.');
    const corpus = await loadCalibrationFile(file, { format: 'text' });
    assert.deepEqual(corpus.texts, ['Not JSON at all.', 'Second.']);
  });
});
