/**
 * Chart builders: one mark per datum (and none for missing data), every input string escaped,
 * well-formed markup, and the same inputs giving the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { barChart } from '../../src/report/bar-chart.js';
import type { BarChartSpec } from '../../src/report/bar-chart.js';
import { binSize, binUnits } from '../../src/report/bins.js';
import { heatmap } from '../../src/report/heatmap.js';
import type { HeatmapSpec } from '../../src/report/heatmap.js';
import { pruningSection, MAX_NEURON_COLUMNS } from '../../src/report/pruning-section.js';
import { prunedModel } from '../../src/report/prune-record.js';
import { handMadePruneRecord } from '../helpers/amp-prune-record.js';

/** Tags balance, attribute values are quoted without raw `<`, text has no raw `<` or bare `&`. */
function assertWellFormed(markup: string): void {
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  const stack: string[] = [];
  let last = 0;
  const checkText = (text: string) => assert.doesNotMatch(text, /[<>]|&(?!(amp|lt|gt|quot|#39);)/, `raw markup character in text: ${text.slice(0, 80)}`);
  for (const match of markup.matchAll(tag)) {
    checkText(markup.slice(last, match.index));
    last = (match.index ?? 0) + match[0].length;
    assert.doesNotMatch(match[3], /&(?!(amp|lt|gt|quot|#39);)/, `bare & in attributes of <${match[2]}>`);
    if (match[1]) assert.equal(stack.pop(), match[2], `</${match[2]}> closes the wrong element`);
    else if (!match[4]) stack.push(match[2]);
  }
  checkText(markup.slice(last));
  assert.deepEqual(stack, [], 'unclosed elements');
}

const marksOf = (svg: string) => Number(/data-marks="(\d+)"/.exec(svg)?.[1]);
const count = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].length;

const HOSTILE = `<script>alert("x")</script> & 'co'`;

function taskSpec(): BarChartSpec {
  return {
    id: 'task-chart-0',
    label: 'piqa per run',
    categories: ['acc', 'acc_norm'],
    series: [
      { name: 'dense', values: [0.4, 0.45], ranges: [{ low: 0.35, high: 0.45 }, { low: 0.4, high: 0.5 }] },
      { name: HOSTILE, values: [0.6, null], ranges: [{ low: -0.1, high: 1.3 }, null] },
    ],
    valueAxisTitle: 'score',
    categoryAxisTitle: 'metric',
    domain: [0, 1],
    showValues: true,
  };
}

describe('barChart', () => {
  test('a mark per present value; missing ones draw nothing', () => {
    const svg = barChart(taskSpec());
    assert.equal(marksOf(svg), 3);
    assert.equal(count(svg, /<rect[^>]*class="bar"/g), 3);
    assert.equal(count(svg, /class="error-bar"/g), 3);
  });
  test('hostile names are escaped everywhere', () => {
    const svg = barChart(taskSpec());
    assert.equal(svg.includes('<script'), false);
    assert.match(svg, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;co&#39;/);
    assertWellFormed(svg);
  });
  test('error bars are clamped to a fixed domain', () => {
    const svg = barChart(taskSpec());
    const bars = [...svg.matchAll(/<path d="M[\d.]+ ([\d.]+)V([\d.]+)[^"]*" class="error-bar"\/>/g)].map((m) => [Number(m[1]), Number(m[2])]);
    // The plot spans y 34 (value 1) to 234 (value 0): 200 px per unit.
    const axisTop = 34;
    const axisBottom = 34 + 200;
    const y = (v: number) => axisBottom - 200 * v;
    assert.deepEqual(bars, [
      [y(0.35), y(0.45)],
      [axisBottom, axisTop], // [-0.1, 1.3] drawn as the whole domain
      [y(0.4), y(0.5)],
    ]);
  });
  test('deterministic: same spec, same bytes', () => assert.equal(barChart(taskSpec()), barChart(taskSpec())));
  test('a zero is a hairline, not a missing bar', () => {
    const svg = barChart({ ...taskSpec(), series: [{ name: 'zero', values: [0, 0] }] });
    assert.equal(marksOf(svg), 2);
    assert.equal(count(svg, /height="0.5"/g), 2);
  });
  test('many categories: labels thin out, every bar still drawn', () => {
    const layers = Array.from({ length: 80 }, (_, i) => `a category name far too long to fit ${i}`);
    const svg = barChart({ id: 'k', label: 'k', categories: layers, series: [{ name: 'a', values: layers.map(() => 0.5) }], valueAxisTitle: 'v' });
    assert.equal(marksOf(svg), 80);
    assert.ok(count(svg, /class="tick" text-anchor="middle"/g) < 80);
  });
});

function heatSpec(): HeatmapSpec {
  return {
    id: 'heads-heatmap-0',
    label: 'heads',
    rows: [
      { label: '0', cells: [{ score: 1, prunedShare: 0, tooltip: 'kept' }, { score: 0, prunedShare: 1, tooltip: HOSTILE }, { score: 0.5, prunedShare: 0.26 }] },
      { label: '1', cells: [{ score: null, prunedShare: 0 }, { score: 2, prunedShare: 1 }] },
    ],
    rowAxisTitle: 'layer',
    columnAxisTitle: 'head',
    columnLabel: String,
  };
}

describe('heatmap', () => {
  test('a mark per cell; hatching grouped by opacity level', () => {
    const svg = heatmap(heatSpec());
    assert.equal(marksOf(svg), 5);
    const levels = [...svg.matchAll(/<path d="[^"]*" fill="url\(#heads-heatmap-0-pruned\)" opacity="([\d.]+)"/g)].map((m) => m[1]);
    assert.deepEqual(levels, ['0.3', '1']);
    assert.match(svg, /<pattern id="heads-heatmap-0-pruned"/);
  });
  test('a cell without a score is grey; row extremes span the colour scale', () => {
    const svg = heatmap(heatSpec());
    assert.match(svg, /fill="#d9d9d9"/);
    assert.match(svg, /fill="#fde725"><title>kept<\/title>/);
    assert.match(svg, /fill="#440154"><title>&lt;script&gt;/);
  });
  test('escaped, well formed, deterministic', () => {
    const svg = heatmap(heatSpec());
    assert.equal(svg.includes('<script'), false);
    assertWellFormed(svg);
    assert.equal(svg, heatmap(heatSpec()));
  });
});

describe('neuron bins', () => {
  test('bin size keeps columns within the limit', () => {
    assert.equal(binSize(128, 128), 1);
    assert.equal(binSize(11008, 128), 86);
    assert.ok(Math.ceil(11008 / binSize(11008, 128)) <= 128);
    assert.equal(binSize(0, 128), 1);
    assert.throws(() => binSize(10, 0), /maxColumns/);
  });
  test('mean score and pruned share per bin; the last bin may be narrower', () => {
    const bins = binUnits(5, 2, [1, 3, 5, 7, 9], new Set([0, 1, 3]));
    assert.deepEqual(bins, [
      { start: 0, end: 2, meanScore: 2, prunedShare: 0 },
      { start: 2, end: 4, meanScore: 6, prunedShare: 0.5 },
      { start: 4, end: 5, meanScore: 9, prunedShare: 1 },
    ]);
    assert.deepEqual(binUnits(2, 1, null, new Set([1])).map((b) => b.meanScore), [null, null]);
  });
});

describe('pruningSection', () => {
  const layers = Array.from({ length: 4 }, () => ({
    heads: { kept: [0, 2], scores: [3, 1, 2, 0.5] },
    neurons: { kept: Array.from({ length: 700 }, (_, i) => i * 2), scores: Array.from({ length: 1400 }, (_, i) => (i * 7919) % 101) },
  }));
  const base = handMadePruneRecord(layers);
  const record = prunedModel('amp_prune.json', { ...base, source: { ...base.source, model: 'm<1>' } })!;
  const html = pruningSection('pruned <model>', record, '0');

  test('three charts, each drew', () => {
    const charts = [...html.matchAll(/<svg[^>]* id="([^"]+)"[^>]* data-marks="(\d+)"/g)].map((m) => [m[1], Number(m[2])]);
    // kept: 2 bars per layer; heads: 4 per layer; neurons: 1400 in bins of 11 -> 128 columns
    assert.deepEqual(charts, [['kept-0', 8], ['heads-heatmap-0', 16], ['neurons-heatmap-0', 4 * Math.ceil(1400 / binSize(1400, MAX_NEURON_COLUMNS))]]);
    assert.ok(Math.ceil(1400 / binSize(1400, MAX_NEURON_COLUMNS)) <= MAX_NEURON_COLUMNS);
  });
  test('labels escaped, markup well formed, deterministic', () => {
    assert.equal(html.includes('<model>') || html.includes('m<1>'), false);
    assertWellFormed(html);
    assert.equal(html, pruningSection('pruned <model>', record, '0'));
  });
});
