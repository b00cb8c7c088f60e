/**
 * Speed records from `amp-prune bench --json`, parsed leniently and rendered as a table and a
 * throughput chart. Expected shape (fields may be missing; unknown ones are ignored):
 *   { model, prefill: [{ tokens, tokens_per_s: {median, min, max} }], decode: { tokens_per_s },
 *     ttft_ms, peak_rss_mb, baseline?: { same fields }, ratios?: { name: number, ... } }
 * A statistic may be a plain number or { median, min, max }. Everything about the bench format
 * lives in this file, so adapting to it changes only here.
 */
import { basename } from 'node:path';
import { FileError } from '../errors.js';
import { barChart } from './bar-chart.js';
import type { BarSeries } from './bar-chart.js';
import { escapeText } from './escape.js';
import { at, isFiniteNumber, isObject } from '../io/json-input.js';
import { htmlTable } from './table.js';
import type { CellInput } from './table.js';

export interface SpeedStat {
  median: number;
  min: number | null;
  max: number | null;
}

export interface SpeedMeasurement {
  model: string;
  prefill: { tokens: number; tokensPerS: SpeedStat }[];
  decode: SpeedStat | null;
  ttftMs: SpeedStat | null;
  peakRssMb: SpeedStat | null;
}

export interface SpeedRecord {
  file: string;
  /** The file's own baseline first (when it has one), then the measured model. */
  measurements: SpeedMeasurement[];
  ratios: [string, number][];
}

function stat(value: unknown): SpeedStat | null {
  if (isFiniteNumber(value)) return { median: value, min: null, max: null };
  if (!isObject(value)) return null;
  const median = [value.median, value.mean, value.value].find(isFiniteNumber);
  if (median === undefined) return null;
  return { median, min: isFiniteNumber(value.min) ? value.min : null, max: isFiniteNumber(value.max) ? value.max : null };
}

function modelName(value: unknown, fallback: string): string {
  const named = typeof value === 'string' ? value : isObject(value) ? [value.name, value.path].find((v): v is string => typeof v === 'string') : undefined;
  return named ? basename(named) || named : fallback;
}

function measurement(value: unknown, fallbackName: string): SpeedMeasurement | null {
  if (!isObject(value)) return null;
  const prefill = (Array.isArray(value.prefill) ? value.prefill : [])
    .map((p: unknown) => ({ tokens: at(p, 'tokens'), tokensPerS: stat(at(p, 'tokens_per_s')) }))
    .filter((p): p is SpeedMeasurement['prefill'][number] => isFiniteNumber(p.tokens) && p.tokensPerS !== null);
  const decode = stat(at(value, 'decode.tokens_per_s'));
  if (prefill.length === 0 && decode === null) return null;
  return { model: modelName(value.model, fallbackName), prefill, decode, ttftMs: stat(value.ttft_ms), peakRssMb: stat(value.peak_rss_mb) };
}

function flattenNumbers(value: unknown, prefix = ''): [string, number][] {
  if (isFiniteNumber(value)) return [[prefix, value]];
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) => flattenNumbers(inner, prefix ? `${prefix}.${key}` : key));
}

export function parseSpeedRecord(file: string, value: unknown): SpeedRecord {
  const measured = measurement(value, basename(file));
  if (!isObject(value) || measured === null) {
    throw new FileError(file, 'not an amp-prune bench record (expected prefill or decode tokens_per_s); write one with `amp-prune bench --json FILE`');
  }
  const baseline = measurement(value.baseline, 'baseline');
  return { file, measurements: baseline ? [baseline, measured] : [measured], ratios: flattenNumbers(value.ratios) };
}

const fixed = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));

function statCell(s: SpeedStat | null | undefined): CellInput {
  if (!s) return { text: '\u2014', className: 'missing' };
  const spread = s.min !== null && s.max !== null ? `${fixed(s.min)}\u2013${fixed(s.max)}` : undefined;
  return { text: fixed(s.median), detail: spread, className: 'number', title: 'median (min\u2013max)' };
}

function throughputSeries(name: string, stats: readonly (SpeedStat | null)[]): BarSeries {
  return { name, values: stats.map((s) => s?.median ?? null), ranges: stats.map((s) => (s && s.min !== null && s.max !== null ? { low: s.min, high: s.max } : null)) };
}

const figure = (caption: string, chart: string) => `<figure class="chart-box"><figcaption>${escapeText(caption)}</figcaption>${chart}</figure>`;

export function speedSection(records: readonly SpeedRecord[]): string {
  const measured = records.flatMap((r) => r.measurements);
  const lengths = [...new Set(measured.flatMap((m) => m.prefill.map((p) => p.tokens)))].sort((a, b) => a - b);
  const prefillOf = (m: SpeedMeasurement, tokens: number) => m.prefill.find((p) => p.tokens === tokens)?.tokensPerS ?? null;
  const rows: CellInput[][] = [
    ...lengths.map((n) => [{ text: `prefill ${n} tokens (tokens/s)`, rowHeader: true }, ...measured.map((m) => statCell(prefillOf(m, n)))]),
    [{ text: 'decode (tokens/s)', rowHeader: true }, ...measured.map((m) => statCell(m.decode))],
    [{ text: 'time to first token (ms)', rowHeader: true }, ...measured.map((m) => statCell(m.ttftMs))],
    [{ text: 'peak RSS (MB)', rowHeader: true }, ...measured.map((m) => statCell(m.peakRssMb))],
  ];
  const prefillChart = barChart({
    id: 'speed-prefill-chart',
    label: 'Prefill throughput per model and prompt length',
    categories: lengths.map(String),
    series: measured.map((m) => throughputSeries(m.model, lengths.map((n) => prefillOf(m, n)))),
    valueAxisTitle: 'prefill tokens / s',
    categoryAxisTitle: 'prompt tokens (bars: median; error bars: min\u2013max)',
  });
  // Decode runs an order of magnitude slower than prefill: its own axis keeps its bars readable.
  const decodeChart = barChart({
    id: 'speed-decode-chart',
    label: 'Decode throughput per model',
    categories: ['decode'],
    series: measured.map((m) => throughputSeries(m.model, [m.decode])),
    valueAxisTitle: 'decode tokens / s',
    categoryAxisTitle: 'bars: median; error bars: min\u2013max',
  });
  const charts = [lengths.length > 0 ? figure('Prefill throughput', prefillChart) : '', measured.some((m) => m.decode) ? figure('Decode throughput', decodeChart) : ''].join('');
  const ratios = records
    .filter((r) => r.ratios.length > 0)
    .map((r) => `<p class="muted">ratios (${escapeText(basename(r.file))}): ${r.ratios.map(([k, v]) => `${escapeText(k)} ${escapeText(v.toFixed(3))}\u00d7`).join(', ')}</p>`)
    .join('');
  return `<section id="speed"><h2>Speed</h2>${htmlTable(['', ...measured.map((m) => m.model)], rows)}${ratios}<div class="chart-grid">${charts}</div></section>`;
}
