/**
 * Per-layer view of one amp_prune.json: kept heads and neurons per layer (as a share of the layer,
 * counts on hover) and the importance heatmaps with pruned units hatched.
 */
import { barChart } from './bar-chart.js';
import { binSize, binUnits } from './bins.js';
import { escapeText } from './escape.js';
import { formatMetric, formatPercent } from './format.js';
import { heatmap } from './heatmap.js';
import type { HeatmapRow } from './heatmap.js';
import type { PrunedLayer, PrunedModel, PrunedUnits } from './prune-record.js';

/** Heatmap columns at most: keeps a 32-layer × 11008-neuron model's page to a few hundred kB. */
export const MAX_NEURON_COLUMNS = 128;

const share = (units: PrunedUnits) => (units.before === 0 ? 0 : units.kept.length / units.before);

function keptChart(record: PrunedModel, key: string): string {
  const layers = record.layers;
  const line = (l: PrunedLayer, what: 'heads' | 'neurons') => `layer ${l.layer}: ${l[what].kept.length} of ${l[what].before} ${what} kept (${formatPercent(share(l[what]))})`;
  return barChart({
    id: `kept-${key}`,
    label: 'Kept heads and neurons per layer',
    categories: layers.map((l) => String(l.layer)),
    series: [
      { name: 'attention heads kept', values: layers.map((l) => share(l.heads)), tooltips: layers.map((l) => line(l, 'heads')) },
      { name: 'MLP neurons kept', values: layers.map((l) => share(l.neurons)), tooltips: layers.map((l) => line(l, 'neurons')) },
    ],
    valueAxisTitle: 'kept (% of layer)',
    categoryAxisTitle: 'layer',
    domain: [0, 1],
    formatValue: (v) => `${Math.round(v * 100)}%`,
    showValues: layers.length <= 6,
    barWidth: layers.length > 24 ? 8 : layers.length > 8 ? 14 : 26,
  });
}

function headRows(record: PrunedModel): HeatmapRow[] {
  return record.layers.map((l) => {
    const kept = new Set(l.heads.kept);
    return {
      label: String(l.layer),
      cells: Array.from({ length: l.heads.before }, (_, h) => {
        const score = l.heads.scores[h];
        const status = kept.has(h) ? 'kept' : 'pruned';
        return { score, prunedShare: kept.has(h) ? 0 : 1, tooltip: `layer ${l.layer}, head ${h}: score ${formatMetric(score)}, ${status}` };
      }),
    };
  });
}

function neuronRows(record: PrunedModel, size: number): HeatmapRow[] {
  return record.layers.map((l) => ({
    label: String(l.layer),
    // No tooltips: a 32-layer model has 4096 bins, and their hover text would double the page.
    cells: binUnits(l.neurons.before, size, l.neurons.scores, new Set(l.neurons.kept)).map((bin) => ({ score: bin.meanScore, prunedShare: bin.prunedShare })),
  }));
}

function describe(record: PrunedModel): string {
  return `method ${record.method}, pruned from ${record.sourceModel}, ratio asked ${formatPercent(record.ratioAsked)}, achieved ${formatPercent(record.ratioAchieved, 2)}`;
}

const figure = (caption: string, chart: string) => `<figure class="chart-box wide"><figcaption>${escapeText(caption)}</figcaption>${chart}</figure>`;

/** `key` keeps chart ids unique when several pruned models are shown. */
export function pruningSection(label: string, record: PrunedModel, key: string): string {
  const widest = Math.max(0, ...record.layers.map((l) => l.neurons.before));
  const size = binSize(widest, MAX_NEURON_COLUMNS);
  const heads = heatmap({ id: `heads-heatmap-${key}`, label: 'Attention head importance per layer', rows: headRows(record), rowAxisTitle: 'layer', columnAxisTitle: 'attention head', columnLabel: String });
  const neurons = heatmap({
    id: `neurons-heatmap-${key}`,
    label: 'MLP neuron importance per layer',
    rows: neuronRows(record, size),
    rowAxisTitle: 'layer',
    columnAxisTitle: size === 1 ? 'MLP neuron' : `MLP neuron (bins of ${size}; hatching opacity = share pruned)`,
    columnLabel: (c) => String(c * size),
  });
  return [
    `<section class="pruning" id="pruning-${escapeText(key)}"><h2>Per layer: ${escapeText(label)}</h2>`,
    `<p class="muted">${escapeText(describe(record))} \u2014 ${escapeText(record.file)}</p>`,
    figure('Kept per layer', keptChart(record, key)),
    figure('Attention head importance', heads),
    figure(size === 1 ? 'MLP neuron importance' : `MLP neuron importance (${size} neurons per column)`, neurons),
    '</section>',
  ].join('\n');
}
