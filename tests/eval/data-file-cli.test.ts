/**
 * A user's own copy of a data file that is damaged (cut short, a row boundary moved, a broken line)
 * is bad input, not a bug: through the real CLI it gives exit code 1 and one line naming the file
 * and where, with no stack trace. Each copy is made from the shared file, so the damage is the only
 * difference.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { WIKITEXT2_TEST_FILE } from '../../src/eval/perplexity/wikitext-documents.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';

const DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');

let scratch: string;
let model: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-data-cli-'));
  model = await fixtureDir('llama-mha');
});
after(() => rm(scratch, { recursive: true, force: true }));

/** A data folder `name` holding one file at `relative` with `bytes`. */
async function dataFolder(name: string, relative: string, bytes: Buffer | string): Promise<{ dir: string; file: string }> {
  const dir = join(scratch, name);
  const file = join(dir, relative);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { dir, file };
}

async function assertOneLineError(args: string[], file: string, ...patterns: RegExp[]): Promise<void> {
  const { code, stdout, stderr } = await runCli(args);
  assert.equal(code, 1, `exit code (stderr: ${stderr})`);
  assert.equal(stdout, '');
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.match(lines[0], /^amp-prune: error: /);
  assert.doesNotMatch(stderr, /internal error|please report/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  assert.ok(lines[0].includes(file), `names ${file}: ${lines[0]}`);
  for (const p of patterns) assert.match(lines[0], p);
}

const wikitext = () => readFile(join(DATA_DIR, WIKITEXT2_TEST_FILE), 'utf8');

/** 1-based line holding `offset` of `text`. */
function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

test('wikitext2: a copy cut inside a row names the file and the line', async () => {
  const text = (await wikitext()).replaceAll('\r', '');
  // Cut inside the 20th non-empty row: its closing newline is gone.
  const rowStarts = [...text.matchAll(/\n\n\n(?=[^\n])/g)].map((m) => m.index + 3);
  const cut = rowStarts[20] + 5;
  const { dir, file } = await dataFolder('wt-cut', WIKITEXT2_TEST_FILE, text.slice(0, cut));
  await assertOneLineError(['eval', '--model', model, '--data-dir', dir, '--limit', '1', '--ctx', '16'], file, new RegExp(`: line ${lineOf(text, rowStarts[20])}: the last row has no closing newline`));
});

test('wikitext2: a moved row boundary names the file and the line', async () => {
  const text = await wikitext(); // with its CRLF line endings, as a user's copy may have
  // A separator one newline short: "row\n" + "\n" + "next row", as when two rows are merged by hand.
  // Between two non-empty rows (empty rows make longer runs of newlines).
  const between = /[^\r\n]\r\n\r\n\r\n(?=[^\r\n])/g;
  between.lastIndex = 5000;
  const match = between.exec(text);
  assert.ok(match);
  const at = match.index + 1;
  const broken = text.slice(0, at) + text.slice(at + 2);
  const { dir, file } = await dataFolder('wt-moved', WIKITEXT2_TEST_FILE, broken);
  const line = lineOf(broken, at) + 1; // the blank line after the row, where the separator falls short
  await assertOneLineError(['eval', '--model', model, '--data-dir', dir, '--limit', '1', '--ctx', '16'], file, new RegExp(`: line ${line}: a row is not followed by the blank line`));
});

test('piqa: a broken JSON line names the file and the line', async () => {
  const lines = (await readFile(join(DATA_DIR, 'piqa', 'valid.jsonl'), 'utf8')).split('\n');
  lines[2] = lines[2].slice(0, 20);
  const { dir, file } = await dataFolder('piqa', 'piqa/valid.jsonl', lines.join('\n'));
  await writeFile(join(dir, 'piqa', 'valid-labels.lst'), await readFile(join(DATA_DIR, 'piqa', 'valid-labels.lst')));
  await assertOneLineError(['eval', '--model', model, '--tasks', 'piqa', '--data-dir', dir, '--limit', '5'], file, /: line 3: not valid JSON/);
});

test('hellaswag: a rendering cut short names the file', async () => {
  const bytes = await readFile(join(DATA_DIR, 'hellaswag', 'hellaswag_val_full.txt.bz2'));
  const { dir, file } = await dataFolder('swag-cut', 'hellaswag/hellaswag_val_full.txt.bz2', bytes.subarray(0, 100_000));
  await assertOneLineError(['eval', '--model', model, '--tasks', 'hellaswag', '--data-dir', dir], file, /not a readable bzip2 file|ends inside item \d+/);
});

test('prune --calib: a broken Alpaca record names the file and the record', async () => {
  const records = [{ instruction: 'a', input: '' }, { instruction: 'b', input: '' }];
  const text = JSON.stringify(records, null, 1).replace('"b"', '"b');
  const { file } = await dataFolder('calib', 'calib.json', text);
  await assertOneLineError(['prune', '--model', model, '--ratio', '0.2', '--calib', file, '--out', join(scratch, 'out')], file, /record 2 \(line \d+, column \d+\): not valid JSON/);
});
