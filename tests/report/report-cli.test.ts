/**
 * `amp-prune report` through the real CLI on hand-made records (no model runs): bad input is one
 * line naming the file, nothing is written on failure, the baseline is the unpruned run, every
 * input string is escaped, the page is self-contained, and reruns give identical bytes.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EvalRecord } from '../../src/eval/run.js';
import { loadReport } from '../../src/report/index.js';
import { summaryOf } from '../../src/export/amp-prune-record.js';
import { handMadePruneRecord } from '../helpers/amp-prune-record.js';
import { runCli } from '../helpers/cli.js';

let scratch: string;

const PARAMS = { embeddings: 100, attention: 200, mlp: 400, norms: 10, lmHead: 100, total: 810 };

function runRecord(modelPath: string, pruned: boolean, acc: number): EvalRecord {
  return {
    tool: { name: 'amp-prune', version: '0.1.0' },
    model: {
      path: modelPath,
      architecture: 'LlamaForCausalLM',
      model_type: 'llama',
      parameters: pruned ? { ...PARAMS, attention: 100, mlp: 300, total: 610 } : PARAMS,
      pruning: pruned ? summaryOf(PRUNE_RECORD) : null,
    },
    settings: { tasks: ['wikitext2', 'piqa'], limit: 5, ctx: null, batch_size: null, data_dir: null, device: 'cpu' },
    tasks: {
      piqa: { metrics: { acc: { value: acc, stderr: 0.2 }, acc_norm: { value: acc, stderr: 0.2 } }, primary_metric: 'acc', items: 5, notes: [], seconds: 1 },
      wikitext2: { metrics: { token_perplexity: { value: pruned ? 40 : 30 } }, primary_metric: 'token_perplexity', items: 5, notes: [], seconds: 1 },
    },
    average: { value: acc, metrics: { piqa: 'acc' } },
    finished_at: '2026-01-01T00:00:00.000Z',
  };
}

const PRUNE_RECORD = handMadePruneRecord([0, 1].map(() => ({ heads: { kept: [1], scores: [0.1, 0.9] }, neurons: { kept: [0, 2], scores: [3, 1, 2, 0] } })));

const SPEED_RECORD = {
  model: '/models/pruned',
  prefill: [{ tokens: 128, tokens_per_s: { median: 900, min: 850, max: 950 } }],
  decode: { tokens_per_s: 40 },
  ttft_ms: { median: 12, min: 11, max: 14 },
  peak_rss_mb: 300,
  baseline: { model: '/models/dense', prefill: [{ tokens: 128, tokens_per_s: { median: 700, min: 690, max: 720 } }], decode: { tokens_per_s: { median: 30 } } },
  ratios: { prefill_128: 1.29, decode: 1.33 },
};

const path = (name: string) => join(scratch, name);
let densePath: string;
let prunedModel: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-report-'));
  prunedModel = path('pruned <b>&"model"');
  await mkdir(prunedModel);
  await writeFile(join(prunedModel, 'amp_prune.json'), JSON.stringify(PRUNE_RECORD));
  densePath = path('dense.json');
  await writeFile(densePath, JSON.stringify(runRecord(path('dense'), false, 0.6)));
  await writeFile(path('pruned.json'), JSON.stringify(runRecord(prunedModel, true, 0.4)));
  await writeFile(path('speed.json'), JSON.stringify(SPEED_RECORD));
  await writeFile(path('broken.json'), '{"tasks": ');
  await writeFile(path('list.json'), '[1, 2]');
  await mkdir(path('out'));
});
after(() => rm(scratch, { recursive: true, force: true }));

async function assertOneLineError(args: string[], ...expected: string[]): Promise<void> {
  const { code, stdout, stderr } = await runCli(['report', ...args]);
  assert.equal(code, 1, `exit code (stderr: ${stderr})`);
  assert.equal(stdout, '');
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.match(lines[0], /^amp-prune: error: /);
  for (const e of expected) assert.ok(lines[0].includes(e), `'${lines[0]}' should include '${e}'`);
}

describe('bad input: one line naming the file, nothing written', () => {
  test('missing run file', () => assertOneLineError([path('nope.json'), '--out', path('out/r.html')], `${path('nope.json')}: not found`));
  test('invalid JSON', () => assertOneLineError([path('broken.json'), '--out', path('out/r.html')], `${path('broken.json')}: not valid JSON`));
  test('JSON that is not a run record', async () => {
    await assertOneLineError([path('list.json'), '--out', path('out/r.html')], path('list.json'), 'not an amp-prune eval run record');
    await assertOneLineError([join(prunedModel, 'amp_prune.json'), '--out', path('out/r.html')], 'not an amp-prune eval run record (model.path is missing)');
  });
  test('--prune given a run record', () => assertOneLineError([densePath, '--prune', densePath, '--out', path('out/r.html')], densePath, 'not a valid amp_prune.json (method is missing)'));
  test('--speed given a run record', () => assertOneLineError([densePath, '--speed', densePath, '--out', path('out/r.html')], densePath, 'not an amp-prune bench record'));
  test('--out in a missing folder', () => assertOneLineError([densePath, '--out', path('missing/r.html')], `${path('missing')}: folder not found (for --out)`));
  test('none of the failures left a file behind', async () => assert.deepEqual(await readdir(path('out')), []));
});

describe('a malformed amp_prune.json, beside the run or given with --prune: one line naming the file and the field', () => {
  const cases: [string, string, string][] = [
    ['not JSON', '{"method": "amp", ', 'not valid JSON'],
    ['a field of the wrong type', JSON.stringify({ ...PRUNE_RECORD, ratio: { ...PRUNE_RECORD.ratio, achieved: '24%' } }), 'not a valid amp_prune.json (ratio.achieved is not a number (got "24%"))'],
    ['a required field missing', JSON.stringify({ ...PRUNE_RECORD, source: undefined }), 'not a valid amp_prune.json (source is missing)'],
    ['a kept head that does not exist', JSON.stringify({ ...PRUNE_RECORD, layers: [PRUNE_RECORD.layers[0], { ...PRUNE_RECORD.layers[1], heads: { kept: [2], scores: [0.1, 0.9] } }] }), 'not a valid amp_prune.json (layers[1].heads.kept has index 2 but only 2 scores)'],
  ];
  for (const [name, text, problem] of cases) {
    test(name, async () => {
      const model = path(`hostile ${name}`);
      await mkdir(model);
      const record = join(model, 'amp_prune.json');
      await writeFile(record, text);
      const run = path(`hostile ${name}.json`);
      await writeFile(run, JSON.stringify(runRecord(model, true, 0.4)));
      await assertOneLineError([densePath, run, '--out', path('out/r.html')], `${record}: ${problem}`);
      await assertOneLineError([densePath, '--prune', record, '--out', path('out/r.html')], `${record}: ${problem}`);
      assert.deepEqual(await readdir(path('out')), []);
    });
  }
});

describe('a report from a dense and a pruned run', () => {
  let html: string;
  before(async () => {
    // pruned first on the command line: the dense run still becomes the baseline column
    const { code, stdout, stderr } = await runCli(['report', path('pruned.json'), densePath, '--speed', path('speed.json'), '--out', path('out/report.html')]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /report written to .*report\.html \(2 runs, 1 pruning record, 1 speed record; \d+ kB\)/);
    html = await readFile(path('out/report.html'), 'utf8');
  });

  test('title names the models, baseline first', () => {
    assert.match(html, /<title>amp-prune report: dense vs pruned &lt;b&gt;&amp;&quot;model&quot;<\/title>/);
  });
  test('every chart drew', () => {
    const charts = Object.fromEntries([...html.matchAll(/<svg[^>]* id="([^"]+)"[^>]* data-marks="(\d+)"/g)].map((m) => [m[1], Number(m[2])]));
    assert.deepEqual(charts, {
      'task-chart-0': 2, // wikitext2: token_perplexity, one bar per run
      'task-chart-1': 4, // piqa: acc and acc_norm, two runs
      'kept-0': 4,
      'heads-heatmap-0': 4,
      'neurons-heatmap-0': 8,
      'speed-prefill-chart': 2,
      'speed-decode-chart': 2,
    });
  });
  test('deltas against the baseline, with the direction that is better', () => {
    assert.match(html, /<td class="number worse">0\.4000 ± 0\.2000<span class="detail">Δ −0\.2000 \(−33\.3%\)<\/span><\/td>/);
    assert.match(html, /<td class="number worse">40\.0000<span class="detail">Δ \+10\.0000 \(\+33\.3%\)<\/span><\/td>/);
    assert.match(html, /<td class="number">610<span class="detail">−24\.7%<\/span><\/td>/);
  });
  test('self-contained: no script, no external resource', () => {
    assert.equal(/<script/i.test(html), false);
    assert.equal(/(src|href)="(?!#)/.test(html), false);
    assert.deepEqual([...new Set(html.match(/\w+:\/\/[^"' )]*/g))], ['http://www.w3.org/2000/svg'], 'the only URL is the SVG namespace');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });
  test('input strings are escaped', () => assert.equal(html.includes('<b>'), false));
  test('rerun: identical bytes', async () => {
    const { code } = await runCli(['report', path('pruned.json'), densePath, '--speed', path('speed.json'), '--out', path('out/again.html')]);
    assert.equal(code, 0);
    assert.equal(await readFile(path('out/again.html'), 'utf8'), html);
  });
});

describe('loadReport', () => {
  test('without a speed record there is no speed section', async () => {
    const { renderReport } = await import('../../src/report/index.js');
    const html = renderReport(await loadReport({ runs: [densePath] }));
    assert.equal(html.includes('id="speed"'), false);
    assert.match(html, /id="task-chart-0"/);
  });
  test('a pruned run whose amp_prune.json is gone: a note, no per-layer charts', async () => {
    await writeFile(path('orphan.json'), JSON.stringify(runRecord(path('deleted-model'), true, 0.5)));
    const data = await loadReport({ runs: [densePath, path('orphan.json')] });
    assert.equal(data.prunings.length, 0);
    assert.match(data.notes[0], /deleted-model.*amp_prune\.json was not found.*--prune/);
  });
  test('only pruned runs: the first is the baseline; same folder names get the run file in the label', async () => {
    await mkdir(path('a'));
    await mkdir(path('b'));
    await writeFile(path('a/run.json'), JSON.stringify(runRecord(prunedModel, true, 0.4)));
    await writeFile(path('b/run2.json'), JSON.stringify(runRecord(prunedModel, true, 0.5)));
    const data = await loadReport({ runs: [path('b/run2.json'), path('a/run.json')] });
    assert.deepEqual(data.runs.map((r) => r.label), ['pruned <b>&"model" [run2]', 'pruned <b>&"model" [run]']);
    assert.equal(data.prunings.length, 2);
  });
});
