/**
 * amp_prune.json as one typed module: records round-trip through the writer's JSON unchanged
 * (unknown keys kept), every malformed record is one line naming the file and the field, what the
 * writer would refuse is never written, and a record `prune` writes is what `report` reads and
 * charts (through the real CLI).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileError } from '../../src/errors.js';
import { AMP_PRUNE_FILE, parseAmpPruneRecord, readAmpPruneRecord, readRecordBeside, recordToWrite, summaryOf } from '../../src/export/amp-prune-record.js';
import type { PruneRecord } from '../../src/export/amp-prune-record.js';
import { stableJson } from '../../src/export/json.js';
import { handMadeFinetuneRecord, handMadePruneRecord } from '../helpers/amp-prune-record.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/python.js';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-record-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

const LAYERS = [
  { heads: { kept: [0, 2], scores: [3, 0.5, 2, 1] }, neurons: { kept: [1, 2, 5], scores: [0, 4, 5, 1, 2, 6] } },
  { heads: { kept: [3], scores: [1, 2, 3, 4] }, neurons: { kept: [0], scores: [9, 1] } },
];

/** What the writer puts on disk, parsed back as any reader would. */
const written = (record: object) => JSON.parse(stableJson(recordToWrite(record as PruneRecord))) as unknown;

describe('round trip', () => {
  test('a pruning record, a pruned-and-finetuned one, and a finetune-only one come back unchanged', () => {
    const pruned = handMadePruneRecord(LAYERS);
    const withRecovery = handMadePruneRecord(LAYERS, {
      recovery: { method: 'lsq', rewrites: ['o.weight', 'down.weight'], damp: 0.1, propagate: 'pruned', token_weighting: 'tokens', score_on: 'pruned', refit_target: 'model', held_out: 'every 8th', mean_error: { before: 0.4, after: 0.2 } },
    });
    for (const record of [pruned, withRecovery, { ...pruned, finetune: handMadeFinetuneRecord() }, { finetune: handMadeFinetuneRecord() }]) {
      assert.deepEqual(parseAmpPruneRecord('a.json', written(record)), record);
    }
  });
  test('keys this version does not know (a newer writer, an added finetune field) are kept', () => {
    const record = { ...handMadePruneRecord(LAYERS), future: { x: 1 }, finetune: { ...handMadeFinetuneRecord(), lora_dropout: 0.05 } };
    assert.deepEqual(parseAmpPruneRecord('a.json', JSON.parse(JSON.stringify(record))), record);
  });
  test('records before --score-on and --refit-target (no such keys) still read', () => {
    const { score_on: _s, refit_target: _r, ...older } = handMadePruneRecord(LAYERS).recovery;
    assert.doesNotThrow(() => parseAmpPruneRecord('a.json', { ...handMadePruneRecord(LAYERS), recovery: older }));
  });
  test("eval's summary drops only the per-layer lists", () => {
    const { layers: _layers, ...rest } = handMadePruneRecord(LAYERS);
    assert.deepEqual(summaryOf(handMadePruneRecord(LAYERS)), rest);
  });
  test('a record that would not read back is never written: non-finite scores become null in JSON', () => {
    const bad = handMadePruneRecord([{ heads: { kept: [0], scores: [Number.NaN, 1] }, neurons: LAYERS[0].neurons }]);
    assert.throws(() => recordToWrite(bad), /amp_prune\.json about to be written does not fit its own type: layers\[0\]\.heads\.scores\[0\] is not a number \(got null\)/);
  });
});

describe('malformed records: one line naming the file and the field', () => {
  const good = () => JSON.parse(JSON.stringify(handMadePruneRecord(LAYERS))) as Record<string, any>;
  const cases: [string, (r: Record<string, any>) => unknown, string][] = [
    ['not an object', () => [1, 2], 'the file is not a JSON object'],
    ['empty object', () => ({}), 'tool is missing'],
    ['missing required field', (r) => (delete r.parameters, r), 'parameters is missing'],
    ['missing nested field', (r) => (delete r.parameters.after.mlp, r), 'parameters.after.mlp is missing'],
    ['wrong type', (r) => ((r.ratio.asked = 'high'), r), 'ratio.asked is not a number (got "high")'],
    ['wrong choice', (r) => ((r.gqa = 'both'), r), 'gqa is not one of group, query (got "both")'],
    ['null where not nullable', (r) => ((r.recovery.held_out = null), r), 'recovery.held_out is not a string (got null)'],
    ['negative index', (r) => ((r.layers[0].neurons.kept[0] = -1), r), 'layers[0].neurons.kept[0] is not a whole number >= 0 (got -1)'],
    ['fractional index', (r) => ((r.layers[1].heads.kept = [1.5]), r), 'layers[1].heads.kept[0] is not a whole number >= 0 (got 1.5)'],
    ['kept beyond the scores', (r) => ((r.layers[1].heads.kept = [7]), r), 'layers[1].heads.kept has index 7 but only 4 scores'],
    ['kept not ascending', (r) => ((r.layers[0].heads.kept = [2, 0]), r), 'layers[0].heads.kept is not ascending and distinct (2 then 0)'],
    ['layer count differs from the source', (r) => ((r.source.layers = 3), r), 'layers has 2 entries but source.layers is 3'],
    ['layers out of order', (r) => ((r.layers[1].layer = 0), r), 'layers[1].layer is 0, not 1'],
    ['layers not a list', (r) => ((r.layers = { 0: {} }), r), 'layers is not a list (got {"0":{}})'],
    ['a broken finetune part', (r) => ((r.finetune = { ...handMadeFinetuneRecord(), lossCurve: [1, 'x'] }), r), 'finetune.lossCurve[1] is not a number (got "x")'],
    ['a broken finetune-only record', () => ({ finetune: { ...handMadeFinetuneRecord(), loss: 'mse' } }), 'finetune.loss is not one of ce, kd (got "mse")'],
  ];
  for (const [name, mutate, problem] of cases) {
    test(name, () => {
      assert.throws(
        () => parseAmpPruneRecord('m/amp_prune.json', mutate(good())),
        (e: unknown) => e instanceof FileError && e.message === `m/amp_prune.json: not a valid amp_prune.json (${problem}); \`amp-prune prune\` writes one next to the pruned model`,
      );
    });
  }
  test('a hostile string is shown on one line, cut short', () => {
    const r = good();
    r.allocation.kind = 'x\n'.repeat(100);
    assert.throws(() => parseAmpPruneRecord('a.json', r), (e: unknown) => e instanceof FileError && !e.message.includes('\n') && e.message.length < 300);
  });
  test('not JSON, and a folder without a record', async () => {
    const dir = join(scratch, 'not-json');
    await mkdir(dir);
    assert.equal(await readRecordBeside(dir), null);
    await writeFile(join(dir, AMP_PRUNE_FILE), '{"method": ');
    await assert.rejects(readRecordBeside(dir), new RegExp(`^FileError: ${join(dir, AMP_PRUNE_FILE).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON`));
  });
});

test('a record written by prune is what report reads and charts', async () => {
  const out = join(scratch, 'pruned');
  const pruned = await runCli(['prune', '--model', await fixtureDir('llama-mha'), '--out', out, '--ratio', '0.3', '--method', 'magnitude', '--recover', 'none']);
  assert.equal(pruned.code, 0, pruned.stderr);
  const file = join(out, AMP_PRUNE_FILE);
  const raw = JSON.parse(await readFile(file, 'utf8')) as PruneRecord;
  assert.deepEqual(await readAmpPruneRecord(file), raw);
  assert.ok(raw.layers.length > 1 && raw.layers[0].heads.kept.length < raw.layers[0].heads.scores.length, 'some heads were pruned');

  const run = join(scratch, 'run.json');
  const params = raw.parameters.after;
  const runRecord = { tool: raw.tool, model: { path: out, architecture: raw.source.architecture, model_type: 'llama', parameters: params, pruning: summaryOf(raw) }, settings: { tasks: [] }, tasks: {}, average: null, finished_at: 'x' };
  await writeFile(run, JSON.stringify(runRecord));
  const html = join(scratch, 'report.html');
  const report = await runCli(['report', run, '--out', html]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /1 pruning record/);
  const page = await readFile(html, 'utf8');
  // every head's tooltip carries the record's score and kept status
  for (const l of raw.layers) {
    l.heads.scores.forEach((score, h) => {
      const status = l.heads.kept.includes(h) ? 'kept' : 'pruned';
      assert.ok(page.includes(`layer ${l.layer}, head ${h}: score ${score.toFixed(4)}, ${status}`), `layer ${l.layer} head ${h}`);
    });
    assert.ok(page.includes(`layer ${l.layer}: ${l.neurons.kept.length} of ${l.neurons.scores.length} neurons kept`));
  }
  assert.ok(page.includes(`method magnitude, pruned from llama-mha`));
});
