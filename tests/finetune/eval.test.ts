/**
 * --eval-every: held-out points at steps 0, N, 2N, ... and the last; each point's loss is the mean
 * next-token cross-entropy over the held-out labelled tokens, which transformers must reproduce:
 * at step 0 on the input model, at the last step on the merged checkpoint written to --out. Without
 * --eval-data the last 5% of the training sequences are held out (and not trained on).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { loadTrainingData } from '../../src/finetune/data.js';
import type { TrainingExample } from '../../src/finetune/trainer.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, runPython } from '../helpers/python.js';
import { LORA_REFERENCE, writeBatchJson } from './helpers.js';

const ALPACA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');
const SEQ_LEN = 128;

let scratch: string;
let train: string;
let heldOutFile: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-ft-eval-'));
  const records = JSON.parse(await readFile(ALPACA, 'utf8')) as unknown[];
  train = join(scratch, 'train.json');
  await writeFile(train, JSON.stringify(records.slice(0, 60)));
  heldOutFile = join(scratch, 'held-out.json');
  await writeFile(heldOutFile, JSON.stringify(records.slice(4000, 4010)));
});
after(() => rm(scratch, { recursive: true, force: true }));

/** transformers' mean CE over the examples' labelled tokens, as one padded batch. */
async function transformersLoss(model: string, examples: readonly TrainingExample[]): Promise<number> {
  const tokens = padBatch(examples.map((e) => e.ids), 0);
  const labelled = new Uint8Array(tokens.ids.length);
  examples.forEach((e, b) => labelled.set(e.labelled, b * tokens.seqLen));
  const file = join(scratch, `batch-${Math.random().toString(36).slice(2)}.json`);
  await writeBatchJson(file, tokens, labelled);
  return JSON.parse((await runPython([LORA_REFERENCE, 'loss', '--model', model, '--batch', file])).trim().split('\n').pop()!).loss;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test('points at steps 0, N, 2N and the last; losses equal transformers on the input and on the merged output', async (t) => {
  const dir = await fixtureDir('llama-mha');
  const out = join(scratch, 'with-eval-data');
  const r = await runCli(['--threads', '1', 'finetune', '--model', dir, '--data', train, '--out', out, '--steps', '5', '--batch-tokens', '256', '--seq-len', String(SEQ_LEN), '--lr', '1e-2', '--eval-every', '2', '--eval-data', heldOutFile, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  const record = JSON.parse(await readFile(join(out, 'amp_prune.json'), 'utf8')).finetune;
  const points = record.eval.points as { step: number; tokens: number; loss: number; ppl: number }[];
  assert.deepEqual(points.map((p) => p.step), [0, 2, 4, 5]);
  assert.deepEqual(summary.evals, points);
  assert.equal(points[0].tokens, 0);
  assert.equal(points[3].tokens, record.tokens);
  assert.ok(points[1].tokens > 0 && points[1].tokens < points[2].tokens);
  for (const p of points) assert.ok(Math.abs(p.ppl - Math.exp(p.loss)) <= 1e-9 * p.ppl);
  assert.match(record.eval.data.sha256, /^[0-9a-f]{64}$/);
  assert.match(r.stderr, /step 2, \d+ tokens: held-out loss [\d.]+, ppl [\d.]+/);

  const examples = (await loadTrainingData(heldOutFile, await loadTokenizer(dir), SEQ_LEN)).examples;
  const before = await transformersLoss(dir, examples);
  const afterLoss = await transformersLoss(out, examples);
  t.diagnostic(`held-out loss: ours ${points[0].loss.toFixed(6)} -> ${points[3].loss.toFixed(6)}, transformers ${before.toFixed(6)} -> ${afterLoss.toFixed(6)}`);
  assert.ok(rel(points[0].loss, before) <= 1e-4, `step 0: ${points[0].loss} vs ${before}`);
  assert.ok(rel(points[3].loss, afterLoss) <= 1e-4, `last step: ${points[3].loss} vs ${afterLoss}`);
  assert.ok(points[3].loss < points[0].loss, 'training lowered the held-out loss');
});

test('without --eval-data the last 5% of the training sequences are held out and not trained on', async () => {
  const dir = await fixtureDir('llama3-gqa-tied');
  const out = join(scratch, 'held-out-slice');
  const r = await runCli(['--threads', '1', 'finetune', '--model', dir, '--data', train, '--out', out, '--steps', '3', '--batch-tokens', '200', '--seq-len', String(SEQ_LEN), '--eval-every', '3']);
  assert.equal(r.code, 0, r.stderr);
  const record = JSON.parse(await readFile(join(out, 'amp_prune.json'), 'utf8')).finetune;
  const all = (await loadTrainingData(train, await loadTokenizer(dir), SEQ_LEN)).examples;
  const k = Math.max(1, Math.round(all.length * 0.05));
  assert.equal(record.eval.data.sequences, k);
  assert.equal(record.eval.data.fromTrainingData, true);
  assert.equal(record.data.sequences, all.length - k);
  assert.deepEqual(record.eval.points.map((p: { step: number }) => p.step), [0, 3]);
  const reference = await transformersLoss(dir, all.slice(all.length - k));
  assert.ok(rel(record.eval.points[0].loss, reference) <= 1e-4, `${record.eval.points[0].loss} vs ${reference}`);
});

test('--eval-data without --eval-every is refused in one line', async () => {
  const r = await runCli(['finetune', '--model', await fixtureDir('llama-mha'), '--data', train, '--out', join(scratch, 'never'), '--eval-data', heldOutFile]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--eval-data is read at --eval-every N steps: give both/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
