/**
 * The pieces under the multiple-choice tasks: Python string semantics, lm-eval's metrics and
 * standard errors, the request shapes, left truncation, and --limit taking the first N items.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PairEncoder } from '../../src/eval/tasks/encode-pair.js';
import { capitaliseUnfinishedPhrase, preprocess } from '../../src/eval/tasks/hellaswag.js';
import { MULTIPLE_CHOICE_TASKS } from '../../src/eval/tasks/index.js';
import { aggregate, argmax, itemScores, meanStderr } from '../../src/eval/tasks/metrics.js';
import { choicesAfterContext, contextsBeforeContinuation } from '../../src/eval/tasks/multiple-choice.js';
import { pyCapitalize, pyLength, pyLstrip, pyRstrip, pyStrip } from '../../src/eval/tasks/text.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';

const SHARED = join(REPO_ROOT, '..', 'shared', 'data');

test('Python whitespace, capitalize and len', () => {
  assert.equal(pyStrip('\x1c\x85 a b\t\u3000'), 'a b');
  assert.equal(pyStrip('\ufeffa\ufeff'), '\ufeffa\ufeff'); // not whitespace to Python
  assert.equal(pyLstrip('  a  '), 'a  ');
  assert.equal(pyRstrip('  a \n\n'), '  a');
  assert.equal(pyCapitalize('the LADY'), 'The lady');
  assert.equal(pyCapitalize('éLAN'), 'Élan');
  assert.equal(pyCapitalize(''), '');
  assert.equal(pyLength('naïve 🙂'), 7);
});

test('argmax takes the first of equal values, like numpy', () => {
  assert.equal(argmax([-3, -1, -1, -2]), 1);
  assert.equal(argmax([-1]), 0);
});

test('acc_norm divides by the choice length in characters, not bytes', () => {
  // Per character: -4.5/3 = -1.5 < -5/4 = -1.25, so choice 1; per byte ("ééé" is 6) it would be choice 0.
  const scores = itemScores([-4.5, -5], ['ééé', 'abcd'], 1);
  assert.equal(scores.acc, 0);
  assert.equal(scores.acc_norm, 1);
});

test("standard errors are lm-eval's mean_stderr (sample variance, n - 1)", () => {
  const acc = [...Array<number>(5).fill(1), ...Array<number>(15).fill(0)];
  // lm-eval 0.4.13 reported 0.25 ± 0.09933992677987828 for such 20 items.
  assert.deepEqual(aggregate(acc), { value: 0.25, stderr: 0.09933992677987828 });
  assert.equal(meanStderr([1]), undefined); // lm-eval prints N/A
  assert.deepEqual(aggregate([1]), { value: 1 });
});

test('request shapes: choices after one context, or contexts before one continuation', () => {
  const usual = choicesAfterContext('Question: q\nAnswer:', ['a', 'b'], 1);
  assert.deepEqual(usual.requests, [
    { context: 'Question: q\nAnswer:', continuation: ' a' },
    { context: 'Question: q\nAnswer:', continuation: ' b' },
  ]);
  const partial = contextsBeforeContinuation(['A x', 'A y'], 'went home.', 0);
  assert.deepEqual(partial.requests.map((r) => r.continuation), [' went home.', ' went home.']);
  assert.deepEqual(partial.choices, ['A x', 'A y']);
});

test("hellaswag's preprocess: [title], other brackets, one pass of double spaces", () => {
  assert.equal(preprocess(' How to x [title] Do y [step]  z   w '), 'How to x. Do y  z  w');
});

test('left truncation keeps the last maxLength + 1 tokens and all of the continuation', async () => {
  const tokenizer = await loadTokenizer(await fixtureDir('llama-mha'));
  const encoder = new PairEncoder(tokenizer, 8);
  const context = 'one two three four five six seven eight nine ten';
  const { context: ctxIds, continuation } = encoder.encodePair(context, ' eleven');
  const request = encoder.request(context, ' eleven');
  assert.deepEqual(request.tokens, [...ctxIds, ...continuation].slice(-9));
  assert.equal(request.tokens.length - request.scoreFrom, continuation.length);
  assert.throws(() => new PairEncoder(tokenizer, 2).request('a', ' eleven twelve thirteen'), /longer than the model's context of 2/);
});

test('--limit takes the first N items of each file, in order', async () => {
  for (const task of MULTIPLE_CHOICE_TASKS) {
    const first = await task.load(SHARED, 3);
    const more = await task.load(SHARED, 5);
    assert.equal(first.items.length, 3, task.name);
    assert.deepEqual(first.items, more.items.slice(0, 3), task.name);
  }
});

test("the hellaswag rendering's contexts get lm-eval's capitalised ctx_b back", async () => {
  // lm-eval's queries for the first two records of the original hellaswag_val.jsonl (ind 24, 92;
  // ctx_b "he" and "the lady"), which the rendering writes as "... roof. he" and "... pole. the lady".
  const hellaswag = MULTIPLE_CHOICE_TASKS.find((t) => t.name === 'hellaswag');
  assert.ok(hellaswag);
  const { items } = await hellaswag.load(SHARED, 2);
  assert.deepEqual(
    items.map((item) => item.requests[0].context),
    ['Roof shingle removal: A man is sitting on a roof. He', 'Clean and jerk: A lady walks to a barbell. She bends down and grabs the pole. The lady'],
  );
  assert.equal(capitaliseUnfinishedPhrase('Sumo: Men are shown. two MEN'), 'Sumo: Men are shown. Two men');
  assert.equal(capitaliseUnfinishedPhrase('Family Life: How to x. do y.'), 'Family Life: How to x. do y.'); // a finished sentence
  assert.equal(capitaliseUnfinishedPhrase('Sumo: two men'), 'Sumo: two men'); // no sentence to split after
});

test('the hellaswag rendering read in full agrees with its first items read early', async () => {
  const hellaswag = MULTIPLE_CHOICE_TASKS.find((t) => t.name === 'hellaswag');
  assert.ok(hellaswag);
  const all = await hellaswag.load(SHARED, undefined);
  assert.equal(all.items.length, 10042);
  assert.deepEqual((await hellaswag.load(SHARED, 7000)).items, all.items.slice(0, 7000));
  assert.match(all.notes?.[0] ?? '', /ctx_b/);
});

test('every task reads its full shared file with the published item count', async () => {
  const counts: Record<string, number> = {
    piqa: 1838,
    winogrande: 1267,
    arc_easy: 2376,
    arc_challenge: 1172,
    boolq: 3270,
    openbookqa: 500,
  };
  for (const [name, count] of Object.entries(counts)) {
    const task = MULTIPLE_CHOICE_TASKS.find((t) => t.name === name);
    assert.ok(task);
    const { items } = await task.load(SHARED, undefined);
    assert.equal(items.length, count, name);
    for (const item of items) assert.ok(item.gold >= 0 && item.gold < item.requests.length, name);
  }
});
