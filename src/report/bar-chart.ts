/**
 * Grouped bar chart: categories along x, one bar per series in each group, optional error bars
 * (a low–high range: ± stderr for metrics, min–max for speeds). One mark per drawn bar.
 */
import { seriesColor } from './colors.js';
import { coord, formatTick } from './format.js';
import { approximateTextWidth, ChartCanvas, drawCategoryAxisTitle, drawLegend, drawValueAxis, element, linearScale, niceTicks, textElement, tooltip } from './svg.js';
import type { LinearScale, PlotArea } from './svg.js';

export interface ValueRange {
  low: number;
  high: number;
}

export interface BarSeries {
  name: string;
  /** One per category; null = this series has no value there (no bar). */
  values: readonly (number | null)[];
  ranges?: readonly (ValueRange | null)[];
  /** Hover text per bar; defaults to "series, category: value". */
  tooltips?: readonly (string | null)[];
}

export interface BarChartSpec {
  id: string;
  /** Accessible name of the chart. */
  label: string;
  categories: readonly string[];
  series: readonly BarSeries[];
  valueAxisTitle: string;
  categoryAxisTitle?: string;
  /** Fixed value domain (e.g. [0, 1] for accuracies); otherwise from the data, starting at 0. */
  domain?: readonly [number, number];
  formatValue?: (value: number) => string;
  /** Print each bar's value above it (only sensible for few bars). */
  showValues?: boolean;
  /** Width of one bar in px (groups grow to fit). */
  barWidth?: number;
}

const MARGIN = { left: 64, right: 16, top: 34, bottom: 42 };
const PLOT_HEIGHT = 200;

function valueDomain(spec: BarChartSpec): [number, number] {
  if (spec.domain) return [spec.domain[0], spec.domain[1]];
  const numbers: number[] = [0];
  for (const s of spec.series) {
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      numbers.push(v);
      const range = s.ranges?.[i];
      if (range) numbers.push(range.low, range.high);
    });
  }
  const finite = numbers.filter(Number.isFinite);
  return [Math.min(...finite), Math.max(...finite)];
}

export function barChart(spec: BarChartSpec): string {
  const barWidth = spec.barWidth ?? 22;
  const groupGap = Math.max(8, barWidth * 0.8);
  const groupWidth = spec.series.length * barWidth + groupGap;
  const longestCategory = Math.max(0, ...spec.categories.map((c) => approximateTextWidth(c, 11)));
  const slot = Math.max(groupWidth, Math.min(longestCategory + 8, 140));
  const legendWidth = spec.series.reduce((w, s) => w + approximateTextWidth(s.name) + 30, 0);
  const axisTitleWidth = approximateTextWidth(spec.categoryAxisTitle ?? '');
  const plotWidth = Math.max(slot * spec.categories.length, 180, legendWidth, axisTitleWidth + 8);
  const width = MARGIN.left + plotWidth + MARGIN.right;
  const height = MARGIN.top + PLOT_HEIGHT + MARGIN.bottom;
  const area: PlotArea = { left: MARGIN.left, top: MARGIN.top, right: MARGIN.left + plotWidth, bottom: MARGIN.top + PLOT_HEIGHT };
  const canvas = new ChartCanvas(spec.id, width, height, spec.label);
  const format = spec.formatValue ?? formatTick;

  const [low, high] = valueDomain(spec);
  const ticks = spec.domain ? niceTicks(low, high).filter((t) => t >= low && t <= high) : niceTicks(low, high);
  const y = linearScale([ticks[0], ticks[ticks.length - 1]], [area.bottom, area.top]);
  drawValueAxis(canvas, area, y, ticks, spec.valueAxisTitle, format);
  drawLegend(canvas, MARGIN.left, 16, spec.series.map((s, i) => ({ name: s.name, color: seriesColor(i) })));

  const slotWidth = plotWidth / Math.max(1, spec.categories.length);
  // Long category lists (one per layer) get sparser labels so they do not overlap.
  const labelEvery = Math.max(1, Math.ceil((longestCategory + 6) / slotWidth));
  spec.categories.forEach((category, c) => {
    if (c % labelEvery === 0) canvas.add(textElement(area.left + (c + 0.5) * slotWidth, area.bottom + 15, category, { class: 'tick', 'text-anchor': 'middle' }));
    const groupLeft = area.left + c * slotWidth + (slotWidth - spec.series.length * barWidth) / 2;
    spec.series.forEach((series, s) => drawBar(canvas, spec, { series, s, c, x: groupLeft + s * barWidth, barWidth, y, format }));
  });
  if (spec.categoryAxisTitle) drawCategoryAxisTitle(canvas, area, spec.categoryAxisTitle);
  return canvas.toString();
}

interface BarPlacement {
  series: BarSeries;
  /** Series and category index. */
  s: number;
  c: number;
  x: number;
  barWidth: number;
  y: LinearScale;
  format: (value: number) => string;
}

function drawBar(canvas: ChartCanvas, spec: BarChartSpec, { series, s, c, x, barWidth, y, format }: BarPlacement): void {
  const value = series.values[c];
  if (value === null || value === undefined || !Number.isFinite(value)) return;
  const [domainLow, domainHigh] = y.domain;
  const clamp = (v: number) => Math.min(domainHigh, Math.max(domainLow, v));
  const zero = y(clamp(0));
  const top = y(clamp(value));
  const hover = series.tooltips?.[c] ?? `${series.name}, ${spec.categories[c]}: ${format(value)}`;
  // A zero still gets a hairline, so a present value is never mistaken for a missing one.
  const bar = { x: x + 1, y: Math.min(top, zero), width: barWidth - 2, height: Math.max(Math.abs(zero - top), 0.5), fill: seriesColor(s), class: 'bar' };
  canvas.addMark(element('rect', bar, tooltip(hover)));
  const range = series.ranges?.[c];
  // Clamped: ± stderr around an accuracy of 0.1 would otherwise reach below the axis.
  if (range) drawErrorBar(canvas, x + barWidth / 2, y(clamp(range.low)), y(clamp(range.high)));
  const label = format(value);
  if (spec.showValues && approximateTextWidth(label, 10) <= barWidth - 2) {
    canvas.addOverlay(textElement(x + barWidth / 2, Math.min(top, range ? y(clamp(range.high)) : top) - 4, label, { class: 'value', 'text-anchor': 'middle' }));
  }
}

function drawErrorBar(canvas: ChartCanvas, x: number, yLow: number, yHigh: number): void {
  const cap = 4;
  const [cx, lo, hi, left, right] = [x, yLow, yHigh, x - cap, x + cap].map(coord);
  canvas.addOverlay(element('path', { d: `M${cx} ${lo}V${hi}M${left} ${lo}H${right}M${left} ${hi}H${right}`, class: 'error-bar' }));
}
