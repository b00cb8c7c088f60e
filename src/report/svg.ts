/**
 * Minimal SVG building: elements as strings, a chart canvas that counts the data marks it draws
 * (published as `data-marks`, so a test can tell an empty chart from a drawn one), linear scales
 * with round ticks, and the axis pieces every chart shares. Output depends only on the inputs.
 */
import { escapeText } from './escape.js';
import { coord, formatTick } from './format.js';

export type Attributes = Readonly<Record<string, string | number | undefined>>;

function attributeText(attributes: Attributes): string {
  return Object.entries(attributes)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${typeof value === 'number' ? coord(value) : escapeText(value)}"`)
    .join('');
}

/** One element; `children` is markup already built (escape text with `escapeText` or use `textElement`). */
export function element(name: string, attributes: Attributes, children?: string): string {
  return children === undefined ? `<${name}${attributeText(attributes)}/>` : `<${name}${attributeText(attributes)}>${children}</${name}>`;
}

export function textElement(x: number, y: number, text: string, attributes: Attributes = {}): string {
  return element('text', { x, y, ...attributes }, escapeText(text));
}

/** A hover tooltip: SVG's <title> child, shown by every browser without script. */
export function tooltip(text: string): string {
  return element('title', {}, escapeText(text));
}

/**
 * One chart. Marks (one per datum) are kept in their own `<g class="marks">` between the
 * decorations underneath (grid, axes, legend) and the overlays on top (error bars, hatching), so a
 * test can find exactly the marks in a rendered page and measure them.
 */
export class ChartCanvas {
  private readonly under: string[] = [];
  private readonly marks: string[] = [];
  private readonly over: string[] = [];

  constructor(
    readonly id: string,
    readonly width: number,
    readonly height: number,
    /** Accessible name of the chart. */
    readonly label: string,
  ) {}

  /** Decoration drawn beneath the marks: axes, grid, labels, legends. */
  add(markup: string): void {
    this.under.push(markup);
  }

  /** One drawn datum (a bar, a heatmap cell). */
  addMark(markup: string): void {
    this.marks.push(markup);
  }

  /** Drawn above the marks: error bars, value labels, hatching. */
  addOverlay(markup: string): void {
    this.over.push(markup);
  }

  get markCount(): number {
    return this.marks.length;
  }

  toString(): string {
    const attributes = {
      xmlns: 'http://www.w3.org/2000/svg',
      id: this.id,
      class: 'chart',
      width: this.width,
      height: this.height,
      viewBox: `0 0 ${coord(this.width)} ${coord(this.height)}`,
      role: 'img',
      'aria-label': this.label,
      'data-marks': String(this.marks.length),
    };
    return element('svg', attributes, `${this.under.join('')}<g class="marks">${this.marks.join('')}</g>${this.over.join('')}`);
  }
}

export interface LinearScale {
  (value: number): number;
  domain: readonly [number, number];
}

export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  const scale = (value: number) => r0 + ((value - d0) / span) * (r1 - r0);
  return Object.assign(scale, { domain });
}

/** About `count` ticks at 1, 2, 2.5 or 5 × 10^k covering [low, high]; the first and last tick become the domain. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  let [lo, hi] = [Math.min(low, high), Math.max(low, high)];
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = lo === 0 ? [0, 1] : [Math.min(0, lo), Math.max(0, hi)];
  const rough = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // Multiplying the index (not accumulating) keeps ticks free of drift: 0.30000000000000004.
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Horizontal grid lines with tick labels on the left, and the axis title rotated alongside. */
export function drawValueAxis(canvas: ChartCanvas, area: PlotArea, scale: LinearScale, ticks: readonly number[], title: string, format: (v: number) => string = formatTick): void {
  for (const tick of ticks) {
    const y = scale(tick);
    canvas.add(element('line', { x1: area.left, x2: area.right, y1: y, y2: y, class: tick === 0 ? 'axis' : 'grid' }));
    canvas.add(textElement(area.left - 6, y + 4, format(tick), { class: 'tick', 'text-anchor': 'end' }));
  }
  const middle = (area.top + area.bottom) / 2;
  canvas.add(textElement(14, middle, title, { class: 'axis-title', 'text-anchor': 'middle', transform: `rotate(-90 14 ${coord(middle)})` }));
  canvas.add(element('line', { x1: area.left, x2: area.left, y1: area.top, y2: area.bottom, class: 'axis' }));
}

export function drawCategoryAxisTitle(canvas: ChartCanvas, area: PlotArea, title: string): void {
  canvas.add(textElement((area.left + area.right) / 2, canvas.height - 6, title, { class: 'axis-title', 'text-anchor': 'middle' }));
}

/** Colour swatches with names in one row, from `x` rightwards; returns the width used. */
export function drawLegend(canvas: ChartCanvas, x: number, y: number, entries: readonly { name: string; color: string }[]): number {
  let cursor = x;
  for (const entry of entries) {
    canvas.add(element('rect', { x: cursor, y: y - 9, width: 10, height: 10, fill: entry.color }));
    canvas.add(textElement(cursor + 14, y, entry.name, { class: 'legend' }));
    cursor += 14 + approximateTextWidth(entry.name) + 16;
  }
  return cursor - x;
}

/** Text width estimate for layout (no font metrics without a browser): 12px sans-serif. */
export function approximateTextWidth(text: string, fontSize = 12): number {
  return Math.ceil(text.length * fontSize * 0.58);
}
