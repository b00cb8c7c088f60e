/**
 * WikiText-2 data handling without a model: the HF rows and wiki.test.raw rebuilt from the joined
 * file, the 62 test documents as EleutherAI/wikitext_document_level builds them, lm-eval's own
 * detokenizer and word/byte counts on every document, lm-eval's own rolling windows, and the
 * token-perplexity windows.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { makeDisjointWindow, rollingRequests, rollingTokenWindows } from '../../src/eval/perplexity/rolling-windows.js';
import { tokenPerplexity, tokenWindows } from '../../src/eval/perplexity/token-perplexity.js';
import { countUtf8Bytes, countWords, wikitextDetokenize } from '../../src/eval/perplexity/wikitext-detokenize.js';
import { hfRows, rawFromRows, readWikitextTest, WIKITEXT2_TEST_FILE, wikitextDocuments } from '../../src/eval/perplexity/wikitext-documents.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';

const DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');
const REFERENCE = join(REPO_ROOT, 'tests', 'fixtures', 'perplexity_reference.py');

interface Documents {
  pages: string[];
  targets: string[];
  words: number[];
  bytes: number[];
}
type Windows = [number[], number[]][][];

/** Token lists of every length around the window boundaries, for a few window lengths. */
const ROLLING_CASES: { tokens: number[]; prefix: number; max_len: number }[] = [1, 2, 3, 5].flatMap((maxLen) =>
  [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 16].map((n) => ({ tokens: Array.from({ length: n }, (_, i) => 100 + i), prefix: 7, max_len: maxLen })),
);

let joined: string;
let reference: { documents: Documents; rolling: Windows };

before(async () => {
  joined = await readWikitextTest(DATA_DIR);
  // One Python process for both answers (importing lm-eval costs seconds).
  const requests = [
    ['documents', '--text', join(DATA_DIR, WIKITEXT2_TEST_FILE)],
    ['rolling', '--cases', JSON.stringify(ROLLING_CASES)],
  ];
  const stdout = await runPython([REFERENCE, 'batch', '--requests', JSON.stringify(requests)]);
  const { results } = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { results: [Documents, { windows: Windows }] };
  reference = { documents: results[0], rolling: results[1].windows };
});

test('the joined file parses back into the 4358 HF rows, 2891 of them non-empty', () => {
  const rows = hfRows(joined);
  assert.equal(rows.length, 4358);
  assert.equal(rows.filter((r) => r !== '').length, 2891);
  assert.equal(rows.join('\n\n'), joined);
});

test('rebuilt wiki.test.raw has the tokenized file\'s line layout: blank lines are " "', async () => {
  const tokenized = await readFile(join(DATA_DIR, 'wikitext2', 'test.txt'), 'utf8');
  const rawLines = rawFromRows(hfRows(joined)).split('\n');
  const tokenizedLines = tokenized.split('\n');
  assert.equal(rawLines.length, tokenizedLines.length);
  rawLines.forEach((line, i) => {
    if (line.trim() === '') assert.equal(tokenizedLines[i], line, `line ${i + 1}`);
    else assert.notEqual(tokenizedLines[i].trim(), '', `line ${i + 1} is blank in test.txt only`);
  });
});

test('62 documents, identical to the dataset script, with lm-eval\'s own targets, words and bytes', () => {
  const ref = reference.documents;
  const pages = wikitextDocuments(joined);
  assert.equal(pages.length, 62);
  assert.equal(ref.pages.length, 62);
  pages.forEach((page, i) => {
    assert.equal(page, ref.pages[i], `page ${i}`);
    assert.equal(wikitextDetokenize(page), ref.targets[i], `target ${i}`);
    assert.equal(countWords(page), ref.words[i], `words ${i}`);
    assert.equal(countUtf8Bytes(page), ref.bytes[i], `bytes ${i}`);
  });
  assert.ok(pages[0].startsWith(' = Robert Boulter = \n'));
  assert.equal(ref.words.reduce((a, b) => a + b), 241335);
});

test('detokenizer edge cases follow the Python original', () => {
  assert.equal(wikitextDetokenize(' ( a b ) [ c ] { d } " e " \' f \''), ' (a b) [c] {d} "e" \'f\'');
  assert.equal(wikitextDetokenize('1 @,@ 000 @.@ 5 @-@ 6 , the dogs \' toys'), "1,000.5-6, the dogs' toys");
  assert.equal(wikitextDetokenize(' = = Career = = \n \n 5 ° C'), ' == Career ==\n\n5°C');
  // leading/trailing whitespace makes empty "words", as re.split does
  assert.equal(countWords(' a  b\n'), 4);
  assert.equal(countWords(''), 1);
  assert.equal(countUtf8Bytes('°'), 2);
});

test('rolling windows equal lm-eval\'s get_rolling_token_windows + make_disjoint_window', () => {
  ROLLING_CASES.forEach((c, i) => {
    const ours = rollingTokenWindows(c.tokens, c.prefix, c.max_len).map(makeDisjointWindow);
    assert.deepEqual(ours.map((w) => [w.context, w.continuation]), reference.rolling[i], `case ${i}: n=${c.tokens.length} L=${c.max_len}`);
    // every token predicted once, each request at most max_len + 1 tokens
    const requests = rollingRequests(c.tokens, c.prefix, c.max_len);
    assert.deepEqual(requests.flatMap((r) => r.tokens.slice(r.scoreFrom)), c.tokens);
    for (const r of requests) assert.ok(r.scoreFrom >= 1 && r.tokens.length <= c.max_len + 1);
  });
});

test('token windows: non-overlapping, last partial window dropped, --limit takes the first ones', () => {
  const ids = Array.from({ length: 10 }, (_, i) => i);
  const all = tokenWindows(ids, 3);
  assert.equal(all.available, 3);
  assert.deepEqual(all.requests.map((r) => r.tokens), [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  assert.ok(all.requests.every((r) => r.scoreFrom === 1));
  assert.deepEqual(tokenWindows(ids, 3, 2).requests.length, 2);
  assert.deepEqual(tokenWindows(ids, 3, 99).requests.length, 3);
  const ppl = tokenPerplexity(all.requests, Float64Array.from([-2, -4, -6]));
  assert.equal(ppl.predictedTokens, 6);
  assert.ok(Math.abs(ppl.perplexity - Math.exp(2)) < 1e-12);
});
