import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCalibrationFile } from '../../src/calib/index.js';
import { rejectsWithFileError, tempFile } from './helpers.js';

const line = (text: unknown) => JSON.stringify({ text, id: 1 });

describe('JSON Lines', () => {
  test('one text per line; blank lines and CRLF endings are fine', async () => {
    const file = await tempFile('calib.jsonl', `${line('First text.')}\r\n\r\n${line('Second\ntext.')}\r\n\n`);
    const corpus = await loadCalibrationFile(file);
    assert.equal(corpus.format, 'jsonl');
    assert.deepEqual(corpus.texts, ['First text.', 'Second\ntext.']);
  });

  test('is recognised by its content whatever the extension', async () => {
    for (const name of ['calib.json', 'calib.data', 'calib']) {
      const file = await tempFile(name, `${line('a b')}\n${line('c d')}\n`);
      assert.equal((await loadCalibrationFile(file)).format, 'jsonl', name);
    }
  });

  /** Six good lines, then `bad` on line 7. */
  async function fileWithLine7(bad: string): Promise<string> {
    return tempFile('calib.jsonl', [...Array.from({ length: 6 }, (_, i) => line(`text ${i}`)), bad, line('after')].join('\n'));
  }

  const broken: [string, string, RegExp][] = [
    ['broken JSON', '{"text": "unterminated}', /^line 7: not valid JSON \(.+\)$/],
    ['a missing text field', '{"content": "hello"}', /^line 7: no string field "text"$/],
    ['a non-string text field', '{"text": 42}', /^line 7: no string field "text"$/],
    ['an empty text', '{"text": " \\n "}', /^line 7: "text" is empty$/],
    ['an array instead of an object', '["text"]', /^line 7: not a JSON object$/],
  ];
  for (const [what, bad, problem] of broken) {
    test(`${what} is reported with its line`, async () => {
      const file = await fileWithLine7(bad);
      await rejectsWithFileError(loadCalibrationFile(file), file, problem);
    });
  }

  test('the error message has the shape "<file>: line N: <problem>"', async () => {
    const file = await fileWithLine7('not json');
    await assert.rejects(loadCalibrationFile(file), (error: Error) => {
      assert.ok(error.message.startsWith(`${file}: line 7: not valid JSON`), error.message);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    });
  });
});
