/**
 * `amp-prune eval` through the real CLI: bad input gives one line naming the flag or file (exit 1;
 * 2 for a bad command line),
 * a run prints the metrics table and writes a deterministic run record that carries the model's
 * pruning summary; the multiple-choice average.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { EvalRecord } from '../../src/eval/run.js';
import { multipleChoiceAverage } from '../../src/eval/run.js';
import { TASKS } from '../../src/eval/registry.js';
import { MULTIPLE_CHOICE_TASKS } from '../../src/eval/tasks/index.js';
import type { TaskResult } from '../../src/eval/task.js';
import { handMadePruneRecord } from '../helpers/amp-prune-record.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';

const DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');

let scratch: string;
let phi: string;
/** A copy of the phi fixture with an amp_prune.json, as `prune` leaves one. */
let pruned: string;

const PRUNE_RECORD = handMadePruneRecord([{ heads: { kept: [0, 1], scores: [1, 2, 0] }, neurons: { kept: [0], scores: [1, 0] } }]);

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-eval-'));
  phi = await fixtureDir('phi');
  pruned = join(scratch, 'pruned');
  await cp(phi, pruned, { recursive: true });
  await writeFile(join(pruned, 'amp_prune.json'), JSON.stringify(PRUNE_RECORD));
});
after(() => rm(scratch, { recursive: true, force: true }));

/** One line `amp-prune: error: ...` with every expected part; exit 1 for bad input, 2 for a bad command line. */
async function assertOneLineError(exitCode: 1 | 2, args: string[], ...expected: (string | RegExp)[]): Promise<void> {
  const { code, stdout, stderr } = await runCli(['eval', ...args]);
  assert.equal(code, exitCode, `exit code (stderr: ${stderr})`);
  assert.equal(stdout, '');
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.match(lines[0], /^amp-prune: error: /);
  for (const e of expected) assert.match(lines[0], typeof e === 'string' ? new RegExp(e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : e);
}

test('a malformed amp_prune.json beside the model: one line naming the file and the field, before the model loads', async () => {
  const broken = join(scratch, 'broken-record');
  await cp(pruned, broken, { recursive: true });
  const record = join(broken, 'amp_prune.json');
  await writeFile(record, JSON.stringify({ ...PRUNE_RECORD, method: 7 }));
  await assertUserError(['--model', broken, '--data-dir', DATA_DIR, '--limit', '1'], `${record}: not a valid amp_prune.json (method is not a string (got 7))`);
  await writeFile(record, '[');
  await assertUserError(['--model', broken, '--data-dir', DATA_DIR, '--limit', '1'], `${record}: not valid JSON`);
});

const assertUserError = (args: string[], ...expected: (string | RegExp)[]) => assertOneLineError(1, args, ...expected);
const assertUsageError = (args: string[], ...expected: (string | RegExp)[]) => assertOneLineError(2, args, ...expected);

test('unknown task: lists the available ones', async () => {
  await assertUsageError(['--model', phi, '--tasks', 'wikitext3', '--data-dir', DATA_DIR], "unknown task 'wikitext3'", 'available: ', 'wikitext2');
});

test('no --data-dir: names the flag and the file the task reads', async () => {
  await assertUsageError(['--model', phi], '--data-dir is required', 'wikitext2/derived_raw_hf_joined/wikitext-test.txt');
});

test('missing data file: names the file', async () => {
  await assertUserError(['--model', phi, '--data-dir', scratch], join(scratch, 'wikitext2/derived_raw_hf_joined/wikitext-test.txt'), 'not found');
});

test('--limit 0, --batch-size x, --ctx 1: the flag and the bound', async () => {
  await assertUsageError(['--model', phi, '--data-dir', DATA_DIR, '--limit', '0'], '--limit must be >= 1 (got 0)');
  await assertUsageError(['--model', phi, '--data-dir', DATA_DIR, '--batch-size', 'x'], "--batch-size takes a whole number (got 'x')");
  await assertUsageError(['--model', phi, '--data-dir', DATA_DIR, '--ctx', '1'], '--ctx must be >= 2 (got 1)');
});

test('--ctx beyond the model\'s max_position_embeddings', async () => {
  await assertUserError(['--model', phi, '--data-dir', DATA_DIR, '--limit', '1', '--ctx', '129'], "--ctx 129 exceeds the model's max_position_embeddings (128)");
});

test('a model without tokenizer.json: names the file', async () => {
  const dir = join(scratch, 'no-tokenizer');
  await cp(phi, dir, { recursive: true });
  await unlink(join(dir, 'tokenizer.json'));
  await assertUserError(['--model', dir, '--data-dir', DATA_DIR, '--limit', '1'], join(dir, 'tokenizer.json'), 'not found');
});

test('--json into a missing folder fails before evaluating', async () => {
  await assertUserError(['--model', phi, '--data-dir', DATA_DIR, '--json', join(scratch, 'nowhere', 'run.json')], join(scratch, 'nowhere'), 'folder not found');
});

/** Everything but the two fields that record when and how long. */
function withoutTimes(record: EvalRecord): unknown {
  const tasks = Object.fromEntries(Object.entries(record.tasks).map(([name, t]) => [name, { ...t, seconds: 0 }]));
  return { ...record, finished_at: '', tasks };
}

test('a run prints the table and writes a deterministic run record with the pruning summary', async () => {
  const files = [join(scratch, 'run-a.json'), join(scratch, 'run-b.json')];
  const args = ['--model', pruned, '--data-dir', DATA_DIR, '--limit', '1', '--ctx', '32', '--batch-size', '4'];
  const outputs = [];
  for (const file of files) outputs.push(await runCli(['eval', ...args, '--json', file]));
  for (const { code, stderr } of outputs) assert.equal(code, 0, stderr);

  const { stdout } = outputs[0];
  for (const metric of ['token_perplexity', 'word_perplexity', 'byte_perplexity', 'bits_per_byte']) {
    assert.match(stdout, new RegExp(`${metric}\\s+[0-9.e+]+\\n`));
  }
  assert.match(stdout, /^task\s+metric\s+value\n/);
  assert.match(stdout, /SparseGPT\/Wanda\/SliceGPT convention/);
  assert.match(stdout, /lm-eval's wikitext task/);
  assert.doesNotMatch(stdout, /average/, 'no multiple-choice task ran');

  const [a, b] = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as EvalRecord));
  assert.deepEqual(withoutTimes(a), withoutTimes(b));
  assert.match(a.finished_at, /^\d{4}-\d\d-\d\dT/);
  assert.equal(a.tool.name, 'amp-prune');
  assert.equal(a.model.architecture, 'PhiForCausalLM');
  assert.ok(a.model.parameters.total > 0);
  const { layers: _layers, ...summary } = PRUNE_RECORD;
  assert.deepEqual(a.model.pruning, summary);
  assert.deepEqual(a.settings, { tasks: ['wikitext2'], limit: 1, ctx: 32, batch_size: 4, data_dir: DATA_DIR, device: 'cpu' });
  const wikitext = a.tasks.wikitext2;
  assert.equal(wikitext.primary_metric, 'token_perplexity');
  assert.equal(wikitext.items, 1);
  assert.equal(wikitext.counts?.token_windows, 1);
  assert.equal(wikitext.counts?.token_window_length, 32);
  assert.equal(wikitext.notes.length, 2);
  assert.ok(wikitext.metrics.token_perplexity.value > 1);
  const bitsPerByte = Math.log2(wikitext.metrics.byte_perplexity.value);
  assert.ok(Math.abs(wikitext.metrics.bits_per_byte.value - bitsPerByte) < 1e-9);
  assert.equal(a.average, null);
});

test('the average is over the multiple-choice tasks\' primary metrics only', () => {
  const result = (task: string, primaryMetric: string, value: number): TaskResult => ({
    task,
    metrics: { [primaryMetric]: { value } },
    items: 10,
    primaryMetric,
    seconds: 0,
  });
  assert.equal(multipleChoiceAverage([result('wikitext2', 'token_perplexity', 12)]), null);
  const [first, second] = MULTIPLE_CHOICE_TASKS;
  if (!second) return; // no multiple-choice tasks registered yet
  const average = multipleChoiceAverage([result('wikitext2', 'token_perplexity', 12), result(first.name, 'acc', 0.5), result(second.name, 'acc_norm', 0.7)]);
  assert.deepEqual(average, { value: 0.6, metrics: { [first.name]: 'acc', [second.name]: 'acc_norm' } });
});

test('with a multiple-choice task the table ends with their average', async () => {
  // piqa missing from the registry is a regression to report, not a reason to skip.
  assert.ok(TASKS.some((t) => t.name === 'piqa'), 'piqa is registered');
  const { code, stdout, stderr } = await runCli(['eval', '--model', phi, '--tasks', 'wikitext2,piqa', '--data-dir', DATA_DIR, '--limit', '2', '--ctx', '32']);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /\npiqa\s+acc\s/);
  assert.match(stdout, /\naverage \(multiple choice: piqa acc\S*\): [0-9.]+\n/);
});
