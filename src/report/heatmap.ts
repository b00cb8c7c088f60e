/**
 * Importance heatmap: one row per layer, one cell per head (or per bin of neurons). Colour is the
 * score scaled within its row, because uniform allocation ranks units only against their own
 * layer and raw score magnitudes differ by orders between layers. Pruned cells are hatched; in a
 * bin of neurons the hatching's opacity is the share pruned (in tenths). One mark per cell.
 */
import { heatColor, NO_SCORE_COLOR } from './colors.js';
import { coord } from './format.js';
import { approximateTextWidth, ChartCanvas, element, textElement, tooltip } from './svg.js';

export interface HeatCell {
  /** Importance (a bin's mean); null when the record carries no scores. */
  score: number | null;
  /** 0 = all kept, 1 = all pruned. */
  prunedShare: number;
  /** Hover text; left out where cells are many and alike (neuron bins), to keep the page small. */
  tooltip?: string;
}

export interface HeatmapRow {
  label: string;
  cells: readonly HeatCell[];
}

export interface HeatmapSpec {
  id: string;
  label: string;
  rows: readonly HeatmapRow[];
  rowAxisTitle: string;
  columnAxisTitle: string;
  /** Label under a column; shown every k columns, k a power of two wide enough not to overlap. */
  columnLabel: (column: number) => string;
}

/** Share pruned, in tenths; any pruning at all shows (at least 0.1). */
function hatchLevel(share: number): number {
  return Math.max(1, Math.round(Math.min(1, share) * 10)) / 10;
}

const MARGIN = { left: 58, right: 16, top: 36, bottom: 40 };
/** The legend's extent right of the left margin: colour scale, its caption, the pruned swatch. */
const LEGEND_WIDTH = 9 * 12 + 4 + 262 + 20 + 50;

function rowScale(cells: readonly HeatCell[]): (score: number) => number {
  const scores = cells.map((c) => c.score).filter((s): s is number => s !== null && Number.isFinite(s));
  const [low, high] = [Math.min(...scores), Math.max(...scores)];
  return high > low ? (s) => (s - low) / (high - low) : () => 0.5;
}

export function heatmap(spec: HeatmapSpec): string {
  const columns = Math.max(1, ...spec.rows.map((r) => r.cells.length));
  const cellWidth = Math.min(40, Math.max(4, Math.floor(720 / columns)));
  const cellHeight = Math.min(22, Math.max(6, Math.floor(360 / Math.max(1, spec.rows.length))));
  const plotWidth = columns * cellWidth;
  const width = MARGIN.left + Math.max(plotWidth, LEGEND_WIDTH) + MARGIN.right;
  const height = MARGIN.top + spec.rows.length * cellHeight + MARGIN.bottom;
  const canvas = new ChartCanvas(spec.id, width, height, spec.label);
  const hatchId = `${spec.id}-pruned`;
  canvas.add(hatchPattern(hatchId));
  drawLegend(canvas, hatchId);

  const labelEvery = Math.max(1, Math.ceil(12 / cellHeight));
  // Hatching is drawn as one path per opacity level for the whole chart, not a rect per cell:
  // a 32-layer × 128-column map would otherwise spend ~100 bytes per cell on it.
  const hatchByLevel = new Map<number, string[]>();
  spec.rows.forEach((row, r) => {
    const y = MARGIN.top + r * cellHeight;
    if (r % labelEvery === 0) canvas.add(textElement(MARGIN.left - 6, y + cellHeight / 2 + 4, row.label, { class: 'tick', 'text-anchor': 'end' }));
    const scaled = rowScale(row.cells);
    row.cells.forEach((cell, c) => {
      const x = MARGIN.left + c * cellWidth;
      const fill = cell.score === null || !Number.isFinite(cell.score) ? NO_SCORE_COLOR : heatColor(scaled(cell.score));
      canvas.addMark(element('rect', { x, y, width: cellWidth, height: cellHeight, fill }, cell.tooltip === undefined ? undefined : tooltip(cell.tooltip)));
      if (cell.prunedShare > 0) {
        const level = hatchLevel(cell.prunedShare);
        const boxes = hatchByLevel.get(level) ?? [];
        boxes.push(`M${coord(x)} ${coord(y)}h${coord(cellWidth)}v${coord(cellHeight)}h${coord(-cellWidth)}z`);
        hatchByLevel.set(level, boxes);
      }
    });
  });
  for (const [level, boxes] of [...hatchByLevel].sort(([a], [b]) => a - b)) {
    canvas.addOverlay(element('path', { d: boxes.join(''), fill: `url(#${hatchId})`, opacity: level, class: 'pruned' }));
  }

  const bottom = MARGIN.top + spec.rows.length * cellHeight;
  const widestLabel = approximateTextWidth(spec.columnLabel(columns - 1), 11) + 8;
  let every = 1;
  while (every * cellWidth < widestLabel) every *= 2;
  for (let c = 0; c < columns; c += every) {
    const label = spec.columnLabel(c);
    canvas.add(textElement(MARGIN.left + (c + 0.5) * cellWidth, bottom + 14, label, { class: 'tick', 'text-anchor': 'middle' }));
  }
  // Centred under the cells, but never pushed off the left edge by a narrow map (two heads).
  const titleCentre = Math.max(MARGIN.left + plotWidth / 2, 4 + approximateTextWidth(spec.columnAxisTitle) / 2);
  canvas.add(textElement(titleCentre, height - 6, spec.columnAxisTitle, { class: 'axis-title', 'text-anchor': 'middle' }));
  const middle = MARGIN.top + (spec.rows.length * cellHeight) / 2;
  canvas.add(textElement(14, middle, spec.rowAxisTitle, { class: 'axis-title', 'text-anchor': 'middle', transform: `rotate(-90 14 ${coord(middle)})` }));
  return canvas.toString();
}

/** Diagonal dark stripes over a light wash: visible on both ends of the colour scale. */
function hatchPattern(id: string): string {
  const stripes = element('rect', { width: 4, height: 4, fill: '#ffffff', opacity: 0.6 }) + element('line', { x1: 0, y1: 0, x2: 0, y2: 4, stroke: '#1a1a1a', 'stroke-width': 1.5 });
  return element('defs', {}, element('pattern', { id, width: 4, height: 4, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, stripes));
}

function drawLegend(canvas: ChartCanvas, hatchId: string): void {
  const stops = 9;
  canvas.add(textElement(MARGIN.left, 16, 'low', { class: 'legend', 'text-anchor': 'end', dx: -4 }));
  for (let i = 0; i < stops; i++) canvas.add(element('rect', { x: MARGIN.left + i * 12, y: 7, width: 12, height: 11, fill: heatColor(i / (stops - 1)) }));
  const afterScale = MARGIN.left + stops * 12 + 4;
  canvas.add(textElement(afterScale, 16, 'high importance (scaled within each layer)', { class: 'legend' }));
  const hatchX = afterScale + 262;
  canvas.add(element('rect', { x: hatchX, y: 7, width: 16, height: 11, fill: heatColor(0.5) }));
  canvas.add(element('rect', { x: hatchX, y: 7, width: 16, height: 11, fill: `url(#${hatchId})` }));
  canvas.add(textElement(hatchX + 20, 16, 'pruned', { class: 'legend' }));
}
