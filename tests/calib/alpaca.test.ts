import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alpacaPrompt, loadCalibrationFile } from '../../src/calib/index.js';
import { ALPACA_FILE, ALPACA_SHA256, rejectsWithFileError, tempFile } from './helpers.js';

describe('the real Alpaca file', () => {
  test('gives one prompt per record, formatted as the paper does', async () => {
    const corpus = await loadCalibrationFile(ALPACA_FILE);
    assert.equal(corpus.format, 'alpaca');
    assert.equal(corpus.texts.length, 5000);
    assert.equal(corpus.sha256, ALPACA_SHA256);
    assert.equal(corpus.source, ALPACA_FILE);
    assert.equal(
      corpus.texts[0],
      'Instruction: Are the two sentences below grammatically correct? Output yes or no.\n' +
        'Input: Sentence 1: I am going to the store.\nSentence 2: I goes to the store.\n' +
        'Response:',
    );
    // Record 5 is the first with an empty input: no Input line, and the output is never used.
    assert.equal(corpus.texts[4], 'Instruction: Generate a new solution to address the global climate crisis.\nResponse:');
    assert.ok(corpus.texts.every((text) => text.endsWith('\nResponse:')));
  });
});

describe('alpacaPrompt', () => {
  test('omits the Input line only when the input is empty, as the reference code does', () => {
    assert.equal(alpacaPrompt({ instruction: 'Add.', input: '2, 3' }), 'Instruction: Add.\nInput: 2, 3\nResponse:');
    assert.equal(alpacaPrompt({ instruction: 'Add.', input: '' }), 'Instruction: Add.\nResponse:');
    assert.equal(alpacaPrompt({ instruction: 'Add.', input: ' ' }), 'Instruction: Add.\nInput:  \nResponse:');
  });
});

describe('Alpaca records', () => {
  test('a record without input counts as an empty input; extra fields are ignored', async () => {
    const file = await tempFile('calib.json', JSON.stringify([{ instruction: 'Say hi.', output: 'hi', id: 7 }]));
    assert.deepEqual((await loadCalibrationFile(file)).texts, ['Instruction: Say hi.\nResponse:']);
  });

  /** A pretty-printed file as people edit by hand: five lines per record, so record 3 starts on line 12. */
  function pretty(records: unknown[]): string {
    return `[\n${records.map((record) => `  ${JSON.stringify(record, null, 1).replace(/\n\s*/g, '\n    ')}`).join(',\n')}\n]\n`;
  }
  const good = { instruction: 'Name a colour.', input: '', output: 'Red' };

  const broken: [string, unknown, RegExp][] = [
    ['no instruction', { input: 'x', output: 'y' }, /^record 3 \(line 12, column 3\): missing "instruction"$/],
    ['a numeric instruction', { instruction: 5, input: '' }, /^record 3 \(line 12, column 3\): "instruction" is not a string$/],
    ['an empty instruction', { instruction: '  ', input: '' }, /^record 3 \(line 12, column 3\): "instruction" is empty$/],
    ['a non-string input', { instruction: 'Sum.', input: [1, 2] }, /^record 3 \(line 12, column 3\): "input" is not a string$/],
    ['a string instead of an object', 'just text', /^record 3 \(line 12, column 3\): not an object with "instruction" and "input" fields$/],
  ];
  for (const [what, record, problem] of broken) {
    test(`a record with ${what} is named by its number and position`, async () => {
      const file = await tempFile('calib.json', pretty([good, good, record]));
      await rejectsWithFileError(loadCalibrationFile(file), file, problem);
    });
  }

  test('the line of a broken record is the line it starts on', async () => {
    const text = `[\n  {"instruction": "a", "input": ""},\n  {"instruction": "b", "input": ""},\n  {"input": ""}\n]`;
    const file = await tempFile('calib.json', text);
    await rejectsWithFileError(loadCalibrationFile(file), file, /^record 3 \(line 4, column 3\): missing "instruction"$/);
  });

  test('a one-line file gives the column, where the line alone would point nowhere', async () => {
    const text = `[{"instruction": "a", "input": ""}, {"instruction": "b"}, 7]`;
    const file = await tempFile('calib.json', text);
    await rejectsWithFileError(loadCalibrationFile(file), file, /^record 3 \(line 1, column 59\): not an object/);
  });
});

describe('broken Alpaca JSON', () => {
  const cases: [string, string, RegExp][] = [
    ['a JSON object instead of an array', '{\n  "data": []\n}\n', /^a JSON object; expected an array of \{instruction, input, output\} records/],
    ['an empty array', '[ ]', /^no records: the JSON array is empty$/],
    [
      'a syntax error inside a record',
      '[\n  {"instruction": "a", "input": ""},\n  {"instruction": "b" "input": ""}\n]',
      /^record 2 \(line 3, column 3\): not valid JSON \(.+ at line 3, column 23\)$/,
    ],
    ['a trailing comma', '[\n  {"instruction": "a", "input": ""},\n]', /^record 2 \(line 3, column 1\): empty \(a stray comma\?\)$/],
    ['a missing closing bracket', '[\n  {"instruction": "a", "input": ""}\n', /^not valid JSON: the array is never closed with "\]"$/],
    [
      'text after the array',
      '[{"instruction": "a", "input": ""}]\n\nmore',
      /^not valid JSON: unexpected text after the array at line 3, column 1$/,
    ],
    ['prose in a .json file', 'Hello world.\n', /^not JSON: expected an array of Alpaca records$/],
  ];
  for (const [what, text, problem] of cases) {
    test(`${what} is reported with its place`, async () => {
      const file = await tempFile('calib.json', text);
      await rejectsWithFileError(loadCalibrationFile(file), file, problem);
    });
  }

  test('brackets and quotes inside strings do not confuse record positions', async () => {
    const text = `[{"instruction": "a ] [ \\" , {", "input": ""},\n {"instruction": 1}]`;
    const file = await tempFile('calib.json', text);
    await rejectsWithFileError(loadCalibrationFile(file), file, /^record 2 \(line 2, column 2\): "instruction" is not a string$/);
  });
});
