/**
 * Broken data folders: every problem is a one-line FileError (a UserError) naming the file, and
 * the line where there is one, raised by Task.run before any scoring.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { CausalLM } from '../../src/engine/causal-lm.js';
import { FileError } from '../../src/errors.js';
import type { TaskContext } from '../../src/eval/task.js';
import { MULTIPLE_CHOICE_TASKS } from '../../src/eval/tasks/index.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { fixtureDir } from '../helpers/python.js';

let scratch: string;
let lm: CausalLM;
let base: Omit<TaskContext, 'dataDir'>;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-mc-bad-'));
  const dir = await fixtureDir('llama-mha');
  lm = await CausalLM.load(dir, { threads: 1 });
  base = { model: lm, tokenizer: await loadTokenizer(dir) };
});
after(async () => {
  await lm?.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A data folder named `name` holding the given files (path relative to the folder -> text). */
async function dataFolder(name: string, files: Record<string, string>): Promise<string> {
  const root = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

/** Runs `task` on `dataDir` and checks it fails with one line matching every pattern. */
async function assertFileError(task: string, dataDir: string, patterns: RegExp[]): Promise<void> {
  const found = MULTIPLE_CHOICE_TASKS.find((t) => t.name === task);
  assert.ok(found);
  await assert.rejects(found.run({ ...base, dataDir }), (error: unknown) => {
    assert.ok(error instanceof FileError, `expected a FileError, got ${String(error)}`);
    assert.ok(!error.message.includes('\n'), `not one line: ${error.message}`);
    for (const p of patterns) assert.match(error.message, p);
    return true;
  });
}

const PIQA_LINE = JSON.stringify({ goal: 'g', sol1: 'a', sol2: 'b' });
const WINO_LINE = JSON.stringify({ sentence: 'A _ b.', option1: 'x', option2: 'y', answer: '1' });
const ARC_LINE = JSON.stringify({ id: 'q', question: { stem: 's', choices: [{ text: 't', label: 'A' }] }, answerKey: 'A' });

test('a missing data file is named, with the task that reads it', async () => {
  const empty = await dataFolder('empty', {});
  await assertFileError('piqa', empty, [/piqa[/\\](valid\.jsonl|valid-labels\.lst): not found/, /task piqa/]);
  await assertFileError('boolq', empty, [/boolq[/\\]superglue[/\\]val\.jsonl: not found/]);
  await assertFileError('hellaswag', empty, [/hellaswag_val_full\.txt\.bz2: not found/]);
});

test('a malformed JSONL line is named by file and line', async () => {
  const dir = await dataFolder('bad-json', { 'arc_easy/ARC-Easy-Test.jsonl': `${ARC_LINE}\n{"id": "q2", "question": \n${ARC_LINE}\n` });
  await assertFileError('arc_easy', dir, [/ARC-Easy-Test\.jsonl: line 2: not valid JSON/]);
});

test('a record that is not an object, or lacks a field, is named by line', async () => {
  const notObject = await dataFolder('not-object', { 'openbookqa/test.jsonl': `${ARC_LINE}\n[1, 2]\n` });
  await assertFileError('openbookqa', notObject, [/test\.jsonl: line 2: not a JSON object/]);
  const noField = await dataFolder('no-field', { 'boolq/superglue/val.jsonl': `${JSON.stringify({ question: 'q', label: 'true' })}\n` });
  await assertFileError('boolq', noField, [/val\.jsonl: line 1: "passage" is missing or not a string/]);
});

test('a piqa label file shorter than its data is refused', async () => {
  const dir = await dataFolder('piqa-short', {
    'piqa/valid.jsonl': `${PIQA_LINE}\n${PIQA_LINE}\n${PIQA_LINE}\n`,
    'piqa/valid-labels.lst': '0\n1\n',
  });
  await assertFileError('piqa', dir, [/valid-labels\.lst: has 2 labels but piqa\/valid\.jsonl has 3 items/]);
});

test('a winogrande label file shorter than its data is refused', async () => {
  const dir = await dataFolder('wino-short', {
    'winogrande/dev.jsonl': `${WINO_LINE}\n${WINO_LINE}\n`,
    'winogrande/dev-labels.lst': '1\n',
  });
  await assertFileError('winogrande', dir, [/dev-labels\.lst: has 1 labels but winogrande\/dev\.jsonl has 2 items/]);
});

test('bad labels and answers are named by line', async () => {
  const badLabel = await dataFolder('piqa-label', { 'piqa/valid.jsonl': `${PIQA_LINE}\n`, 'piqa/valid-labels.lst': '2\n' });
  await assertFileError('piqa', badLabel, [/valid-labels\.lst: line 1: label "2" is not one of 0, 1/]);
  const disagree = await dataFolder('wino-disagree', { 'winogrande/dev.jsonl': `${WINO_LINE}\n`, 'winogrande/dev-labels.lst': '2\n' });
  await assertFileError('winogrande', disagree, [/dev\.jsonl: line 1: "answer" "1" disagrees/]);
  const noBlank = JSON.stringify({ sentence: 'No blank.', option1: 'x', option2: 'y' });
  const blankless = await dataFolder('wino-blank', { 'winogrande/dev.jsonl': `${noBlank}\n`, 'winogrande/dev-labels.lst': '1\n' });
  await assertFileError('winogrande', blankless, [/dev\.jsonl: line 1: the sentence has no blank/]);
  const wrongKey = ARC_LINE.replace('"answerKey":"A"', '"answerKey":"E"');
  const arc = await dataFolder('arc-key', { 'arc_challenge/ARC-Challenge-Test.jsonl': `${wrongKey}\n` });
  await assertFileError('arc_challenge', arc, [/line 1: answerKey "E" is not one of the choice labels \(A\)/]);
});

test('a damaged hellaswag rendering, or a bad label in the original format, is refused', async () => {
  const dir = await dataFolder('swag', { 'hellaswag/hellaswag_val_full.txt.bz2': 'BZh9 this is not compressed data' });
  await assertFileError('hellaswag', dir, [/hellaswag_val_full\.txt\.bz2: not a readable bzip2 file/]);
  const original = await dataFolder('swag-jsonl', { 'hellaswag/hellaswag_val.jsonl': '{"label": "7"}\n' });
  await assertFileError('hellaswag', original, [/hellaswag_val\.jsonl: line 1: "label" is "7", not 0-3/]);
});

test('a choice too long to score is named by file and line, not only by item number', async () => {
  // The fixture's context is 128 tokens: a choice of 300 words cannot fit (lm-eval asserts there too).
  const long = JSON.stringify({ goal: 'g', sol1: 'word '.repeat(300), sol2: 'b' });
  const dir = await dataFolder('piqa-long', { 'piqa/valid.jsonl': `${PIQA_LINE}\n${long}\n`, 'piqa/valid-labels.lst': '0\n1\n' });
  await assertFileError('piqa', dir, [/piqa[/\\]valid\.jsonl: line 2: piqa item 2, choice 1: its continuation alone is \d+ tokens, longer than the model's context of 128/]);
  const swag = await dataFolder('swag-long', { 'hellaswag/hellaswag_val.jsonl': `${JSON.stringify({ label: 0, ctx_a: 'a', ctx_b: 'b', activity_label: 'x', endings: ['word '.repeat(300), 'b', 'c', 'd'] })}\n` });
  await assertFileError('hellaswag', swag, [/hellaswag_val\.jsonl: line 1: hellaswag item 1, choice 1: its continuation alone/]);
});
