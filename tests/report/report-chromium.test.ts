/**
 * The report as a browser sees it. Real run records come from the CLI on the tiny LLaMA fixture
 * (dense, then pruned by 30%), then headless Chromium:
 *   1. opens the page as written: no console message at all (so no script error and nothing
 *      blocked by the page's no-network Content-Security-Policy), every chart in the DOM with
 *      data-marks > 0;
 *   2. opens a copy with a measuring script added: every mark laid out with a non-zero box inside
 *      its chart, and no chart text falling outside its chart (a clipped label or legend);
 *   3. takes a 1280×2000 screenshot.
 * Skipped, with a message, only where Chromium is not installed (CI installs Debian's `chromium`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT } from '../helpers/python.js';

const DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');

async function findChromium(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      try {
        await access(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not in this folder
      }
    }
  }
  return undefined;
}

const chromium = await findChromium();
const SKIP = chromium === undefined ? 'chromium is not installed (apt-get install -y chromium); the report was not checked in a browser' : false;

let scratch: string;

/** One headless Chromium run with a fresh profile and no network side-channels. */
async function runChromium(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = await mkdtemp(join(scratch, 'profile-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`];
  try {
    return await new Promise((resolve, reject) => {
      execFile(chromium!, [...flags, ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      });
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

async function cli(args: string[]): Promise<void> {
  const { code, stderr } = await runCli(args);
  assert.equal(code, 0, `amp-prune ${args.join(' ')}\n${stderr}`);
}

/** A speed record shaped as `bench --json` is planned to write (the bench command is not here yet). */
const SPEED_RECORD = {
  model: 'pruned',
  prefill: [128, 512].map((tokens) => ({ tokens, tokens_per_s: { median: 5000 - tokens, min: 4800 - tokens, max: 5100 - tokens } })),
  decode: { tokens_per_s: { median: 300, min: 280, max: 310 } },
  ttft_ms: 20,
  peak_rss_mb: 200,
  baseline: { model: 'llama-mha', prefill: [{ tokens: 128, tokens_per_s: 3900 }], decode: { tokens_per_s: 230 } },
};

/** Runs in the page copy: measures each chart and writes the result into a <pre> for --dump-dom. */
const MEASURE = `(() => {
  const out = { charts: [], errors: [] };
  try {
    for (const svg of document.querySelectorAll('svg.chart')) {
      const frame = svg.getBoundingClientRect();
      const inside = (r) => r.left >= frame.left - 0.5 && r.top >= frame.top - 0.5 && r.right <= frame.right + 0.5 && r.bottom <= frame.bottom + 0.5;
      const marks = [...svg.querySelectorAll(':scope > g.marks > *')];
      const drawn = marks.filter((m) => { const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0 && inside(r) && getComputedStyle(m).visibility === 'visible'; }).length;
      const clippedText = [...svg.querySelectorAll('text')].filter((t) => !inside(t.getBoundingClientRect())).map((t) => t.textContent);
      out.charts.push({ id: svg.id, declared: Number(svg.dataset.marks), marks: marks.length, drawn, width: frame.width, height: frame.height, clippedText });
    }
  } catch (error) { out.errors.push(String(error)); }
  const pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = JSON.stringify(out);
  document.body.append(pre);
})();`;

interface ChartLayout {
  id: string;
  declared: number;
  marks: number;
  drawn: number;
  width: number;
  height: number;
  clippedText: string[];
}

const EXPECTED_CHARTS = ['task-chart-0', 'task-chart-1', 'task-chart-2', 'kept-0', 'heads-heatmap-0', 'neurons-heatmap-0', 'speed-prefill-chart', 'speed-decode-chart'];

describe('report in headless Chromium', { skip: SKIP }, () => {
  let reportFile: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'amp-prune-report-browser-'));
    const fixture = await fixtureDir('llama-mha');
    const evalArgs = ['--tasks', 'wikitext2,piqa,arc_easy', '--data-dir', DATA_DIR, '--limit', '3'];
    await cli(['eval', '--model', fixture, ...evalArgs, '--json', join(scratch, 'dense.json')]);
    await cli(['prune', '--model', fixture, '--out', join(scratch, 'pruned'), '--ratio', '0.3', '--calib-samples', '8']);
    await cli(['eval', '--model', join(scratch, 'pruned'), ...evalArgs, '--json', join(scratch, 'pruned.json')]);
    await writeFile(join(scratch, 'speed.json'), JSON.stringify(SPEED_RECORD));
    reportFile = join(scratch, 'report.html');
    await cli(['report', join(scratch, 'dense.json'), join(scratch, 'pruned.json'), '--speed', join(scratch, 'speed.json'), '--out', reportFile]);
  });
  after(() => (scratch ? rm(scratch, { recursive: true, force: true }) : undefined));

  test('the page as written: charts in the DOM with marks, and no console message', async () => {
    const { stdout, stderr } = await runChromium(['--enable-logging=stderr', '--v=0', '--dump-dom', `file://${reportFile}`]);
    const charts = Object.fromEntries([...stdout.matchAll(/<svg[^>]* id="([^"]+)"[^>]* data-marks="(\d+)"/g)].map((m) => [m[1], Number(m[2])]));
    assert.deepEqual(Object.keys(charts), EXPECTED_CHARTS);
    for (const [id, marks] of Object.entries(charts)) assert.ok(marks > 0, `${id} drew no marks`);
    const console = stderr.split('\n').filter((line) => line.includes(':CONSOLE'));
    assert.deepEqual(console, [], 'the browser console should stay silent');
  });

  test('laid out: every mark has a box inside its chart, no text spills out', async () => {
    const html = await readFile(reportFile, 'utf8');
    // The report's policy forbids script; the measuring copy drops it to run MEASURE.
    const measured = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>\n/, '').replace('</body>', `<script>${MEASURE}</script></body>`);
    const copy = join(scratch, 'measured.html');
    await writeFile(copy, measured);
    const { stdout } = await runChromium(['--window-size=1280,2000', '--dump-dom', `file://${copy}`]);
    const json = /<pre id="layout-check">(.*?)<\/pre>/s.exec(stdout)?.[1];
    assert.ok(json, 'the measuring script ran');
    const result = JSON.parse(json.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')) as { charts: ChartLayout[]; errors: string[] };
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.charts.map((c) => c.id), EXPECTED_CHARTS);
    for (const chart of result.charts) {
      assert.ok(chart.declared > 0, `${chart.id}: no marks`);
      assert.equal(chart.marks, chart.declared, `${chart.id}: data-marks matches the marks in the DOM`);
      assert.equal(chart.drawn, chart.marks, `${chart.id}: every mark laid out inside the chart`);
      assert.ok(chart.width > 100 && chart.height > 80, `${chart.id}: ${chart.width}×${chart.height}`);
      assert.deepEqual(chart.clippedText, [], `${chart.id}: text outside the chart`);
    }
  });

  test('screenshot: a 1280×2000 PNG with content', async () => {
    const png = join(scratch, 'report.png');
    await runChromium([`--screenshot=${png}`, '--window-size=1280,2000', `file://${reportFile}`]);
    const bytes = await readFile(png);
    assert.deepEqual([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
    assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [1280, 2000]);
    // a blank white page compresses to a few kB; charts, tables and text do not
    assert.ok(bytes.length > 40_000, `screenshot is only ${bytes.length} bytes`);
  });
});
