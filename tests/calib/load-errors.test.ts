import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadCalibrationFile } from '../../src/calib/index.js';
import { rejectsWithFileError, tempDir, tempFile } from './helpers.js';

describe('calibration files that cannot be used', () => {
  test('a missing file', async () => {
    const file = path.join(await tempDir(), 'nowhere.jsonl');
    await rejectsWithFileError(loadCalibrationFile(file), file, /^no such file$/);
  });

  test('a folder', async () => {
    const dir = await tempDir();
    await rejectsWithFileError(loadCalibrationFile(dir), dir, /^is a folder/);
  });

  for (const [name, content] of [
    ['empty.txt', ''],
    ['blank.jsonl', '\n \n\t\n'],
    ['blank.json', '   '],
  ] as const) {
    test(`an empty or blank file (${name})`, async () => {
      const file = await tempFile(name, content);
      await rejectsWithFileError(loadCalibrationFile(file), file, /^empty file/);
    });
  }

  test('invalid UTF-8 is reported with its line', async () => {
    const bytes = Buffer.concat([Buffer.from('good line\nnaïve\n', 'utf8'), Buffer.from([0x62, 0xff, 0x61, 0x0a]), Buffer.from('ok\n')]);
    const file = await tempFile('latin1.txt', bytes);
    await rejectsWithFileError(loadCalibrationFile(file), file, /^line 3: not valid UTF-8$/);
  });

  test('a UTF-8 byte-order mark is not part of the text', async () => {
    const file = await tempFile('bom.jsonl', `\uFEFF${JSON.stringify({ text: 'hello' })}\n`);
    const corpus = await loadCalibrationFile(file);
    assert.equal(corpus.format, 'jsonl');
    assert.deepEqual(corpus.texts, ['hello']);
  });
});

describe('provenance of a file', () => {
  test('the source is the path as given and the hash is of the file bytes', async () => {
    const content = 'Some text.\n\nMore text.\n';
    const file = await tempFile('corpus.txt', content);
    const corpus = await loadCalibrationFile(file);
    assert.equal(corpus.source, file);
    assert.equal(corpus.sha256, createHash('sha256').update(content).digest('hex'));
    assert.equal(corpus.license, undefined);
  });
});
