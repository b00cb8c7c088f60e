/** SVG primitives: escaping, number formats, ticks, scales, and the canvas's mark counting. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { heatColor } from '../../src/report/colors.js';
import { escapeText } from '../../src/report/escape.js';
import { coord, formatCount, formatMetric, formatTick } from '../../src/report/format.js';
import { ChartCanvas, element, linearScale, niceTicks, textElement } from '../../src/report/svg.js';

describe('escapeText', () => {
  test('the five markup characters', () => {
    assert.equal(escapeText(`<a href="x">Tom & Jerry's</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
  });
  test('control characters that XML forbids become U+FFFD; tab and newline stay', () => {
    assert.equal(escapeText('a\u0000b\u001bc\td\ne'), 'a\ufffdb\ufffdc\td\ne');
  });
  test('already-escaped text is escaped again (no double meaning)', () => assert.equal(escapeText('&amp;'), '&amp;amp;'));
});

describe('number formats', () => {
  test('coord: two decimals, no -0', () => {
    assert.deepEqual([1.005, 2.499999, -0.001, 0, 1e-9, 12.3456].map(coord), ['1', '2.5', '0', '0', '0', '12.35']);
  });
  test('metric values like the eval table', () => {
    assert.equal(formatMetric(0.25), '0.2500');
    assert.equal(formatMetric(10727000), '1.0727e+7');
  });
  test('counts with separators, locale-free', () => assert.deepEqual([0, 999, 1000, 232896, 6738415616].map(formatCount), ['0', '999', '1,000', '232,896', '6,738,415,616']));
  test('ticks: short', () => assert.deepEqual([0, 0.2, 1500, 2.5e6, 0.0001].map(formatTick), ['0', '0.2', '1500', '2.5e6', '1.0e-4']));
});

describe('niceTicks', () => {
  test('round steps covering the range', () => {
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0, 1257), [0, 500, 1000, 1500]);
    assert.deepEqual(niceTicks(0, 5400), [0, 2000, 4000, 6000]);
  });
  test('no floating-point drift', () => {
    for (const t of niceTicks(0, 0.7)) assert.equal(String(t).length <= 4, true, `tick ${t}`);
  });
  test('an empty or flat range still gets an axis', () => {
    assert.deepEqual(niceTicks(0, 0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(3, 3), [0, 1, 2, 3]);
    assert.deepEqual(niceTicks(Number.NaN, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
  test('negative values', () => assert.deepEqual(niceTicks(-0.3, 0.5), [-0.4, -0.2, 0, 0.2, 0.4, 0.6]));
});

test('linearScale maps the domain onto the range (y grows downwards)', () => {
  const y = linearScale([0, 1], [200, 0]);
  assert.deepEqual([y(0), y(0.5), y(1)], [200, 100, 0]);
  assert.deepEqual(y.domain, [0, 1]);
});

describe('elements', () => {
  test('attribute values are escaped, numbers rounded, undefined left out', () => {
    assert.equal(element('rect', { x: 1.234, y: -0.0001, fill: '"><script>', class: undefined }), '<rect x="1.23" y="0" fill="&quot;&gt;&lt;script&gt;"/>');
  });
  test('text content is escaped', () => assert.equal(textElement(1, 2, 'a<b'), '<text x="1" y="2">a&lt;b</text>'));
});

describe('ChartCanvas', () => {
  test('counts marks only, and publishes the count', () => {
    const canvas = new ChartCanvas('c1', 100, 50, 'a <test> chart');
    canvas.add(element('line', { x1: 0, x2: 1, y1: 0, y2: 0 }));
    canvas.addMark(element('rect', { x: 0, y: 0, width: 1, height: 1 }));
    canvas.addMark(element('rect', { x: 1, y: 0, width: 1, height: 1 }));
    canvas.addOverlay(element('path', { d: 'M0 0' }));
    assert.equal(canvas.markCount, 2);
    const svg = canvas.toString();
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" id="c1" class="chart" width="100" height="50" viewBox="0 0 100 50" role="img" aria-label="a &lt;test&gt; chart" data-marks="2">/);
    // decorations beneath, marks grouped, overlays on top
    assert.match(svg, /<line[^>]*\/><g class="marks"><rect[^>]*\/><rect[^>]*\/><\/g><path d="M0 0"\/><\/svg>$/);
  });
  test('an empty chart says 0', () => assert.match(new ChartCanvas('e', 1, 1, 'e').toString(), /data-marks="0"/));
});

test('heatColor: viridis ends and clamping', () => {
  assert.equal(heatColor(0), '#440154');
  assert.equal(heatColor(1), '#fde725');
  assert.equal(heatColor(-3), '#440154');
  assert.equal(heatColor(7), '#fde725');
  assert.equal(heatColor(Number.NaN), '#440154');
  assert.match(heatColor(0.37), /^#[0-9a-f]{6}$/);
});
