/**
 * Quality: every metric of every task, one column per run with its change against the baseline
 * (column 0), then one bar chart per task (a bar per run, ± stderr).
 */
import { barChart } from './bar-chart.js';
import { delta, lowerIsBetter } from './deltas.js';
import { escapeText } from './escape.js';
import { formatMetric } from './format.js';
import type { ReportRun, RunTask } from './run-record.js';
import { htmlTable } from './table.js';
import type { CellInput, TableCell } from './table.js';

/** Task names in first-seen order across runs. */
function taskNames(runs: readonly ReportRun[]): string[] {
  return [...new Set(runs.flatMap((r) => r.tasks.map((t) => t.name)))];
}

function taskOf(run: ReportRun, name: string): RunTask | undefined {
  return run.tasks.find((t) => t.name === name);
}

function metricNames(runs: readonly ReportRun[], task: string): string[] {
  return [...new Set(runs.flatMap((r) => taskOf(r, task)?.metrics.map(([m]) => m) ?? []))];
}

function metricOf(run: ReportRun, task: string, metric: string): { value: number; stderr?: number } | undefined {
  return taskOf(run, task)?.metrics.find(([m]) => m === metric)?.[1];
}

function valueCell(metric: string, value: { value: number; stderr?: number } | undefined, baseline: { value: number } | undefined, isBaseline: boolean): TableCell {
  if (!value) return { text: '\u2014', className: 'missing', title: 'not evaluated in this run' };
  const text = value.stderr === undefined ? formatMetric(value.value) : `${formatMetric(value.value)} \u00b1 ${formatMetric(value.stderr)}`;
  if (isBaseline || !baseline) return { text, className: 'number' };
  const change = delta(metric, value.value, baseline.value);
  return { text, detail: change.text, className: `number ${change.className}` };
}

function metricTable(runs: readonly ReportRun[]): string {
  const head: CellInput[] = ['task', 'metric', ...runs.map((r, i) => ({ text: r.label, detail: i === 0 ? 'baseline' : r.pruning?.method ?? undefined, title: r.modelPath }))];
  const rows: CellInput[][] = [];
  for (const task of taskNames(runs)) {
    const items = runs.map((r) => taskOf(r, task)?.items).filter((n): n is number => n !== undefined);
    metricNames(runs, task).forEach((metric, m) => {
      const baseline = metricOf(runs[0], task, metric);
      const taskCell: CellInput = m === 0 ? { text: task, detail: `${[...new Set(items)].join(' / ')} items`, rowHeader: true } : '';
      const direction = lowerIsBetter(metric) ? 'lower is better' : 'higher is better';
      rows.push([taskCell, { text: metric, title: direction }, ...runs.map((r, i) => valueCell(metric, metricOf(r, task, metric), baseline, i === 0))]);
    });
  }
  if (runs.some((r) => r.average)) {
    const over = runs.find((r) => r.average)?.average?.metrics ?? {};
    const detail = Object.entries(over).map(([t, m]) => `${t} ${m}`).join(', ');
    rows.push([{ text: 'average', detail, rowHeader: true }, 'multiple choice', ...runs.map((r, i) => valueCell('acc', r.average ?? undefined, runs[0].average ?? undefined, i === 0))]);
  }
  return htmlTable(head, rows);
}

/** Metrics that share one axis: all of a task's metrics when they are all fractions, else the headline one. */
function chartedMetrics(runs: readonly ReportRun[], task: string): { metrics: string[]; fractions: boolean } {
  const all = metricNames(runs, task);
  const values = runs.flatMap((r) => all.map((m) => metricOf(r, task, m)?.value)).filter((v): v is number => v !== undefined);
  if (values.every((v) => v >= 0 && v <= 1)) return { metrics: all, fractions: true };
  const primary = runs.map((r) => taskOf(r, task)?.primaryMetric).find((p) => p !== undefined) ?? all[0];
  return { metrics: [primary], fractions: false };
}

function taskChart(runs: readonly ReportRun[], task: string, index: number): string {
  const { metrics, fractions } = chartedMetrics(runs, task);
  const series = runs.map((run) => {
    const found = metrics.map((m) => metricOf(run, task, m));
    return {
      name: run.label,
      values: found.map((v) => v?.value ?? null),
      ranges: found.map((v) => (v?.stderr === undefined ? null : { low: v.value - v.stderr, high: v.value + v.stderr })),
      tooltips: found.map((v, i) => (v ? `${run.label}, ${metrics[i]}: ${formatMetric(v.value)}${v.stderr === undefined ? '' : ` \u00b1 ${formatMetric(v.stderr)}`}` : null)),
    };
  });
  const direction = metrics.every(lowerIsBetter) ? 'lower is better' : metrics.some(lowerIsBetter) ? '' : 'higher is better';
  const chart = barChart({
    id: `task-chart-${index}`,
    label: `${task}: ${metrics.join(', ')} per run`,
    categories: metrics,
    series,
    valueAxisTitle: metrics.length === 1 ? metrics[0] : 'score',
    categoryAxisTitle: 'metric (error bars: \u00b1 standard error)',
    domain: fractions ? [0, 1] : undefined,
    showValues: metrics.length * runs.length <= 12,
  });
  return `<figure class="chart-box"><figcaption>${escapeText(task)}${direction ? ` <span class="muted">(${direction})</span>` : ''}</figcaption>${chart}</figure>`;
}

function comparabilityNotes(runs: readonly ReportRun[]): string[] {
  const notes: string[] = [];
  const limits = new Set(runs.map((r) => (r.limit === null ? 'all' : String(r.limit))));
  if (limits.size > 1) notes.push(`The runs used different --limit values (${runs.map((r) => `${r.label}: ${r.limit ?? 'all'}`).join(', ')}): their numbers are not directly comparable.`);
  else if (runs[0]?.limit !== null && runs[0]?.limit !== undefined) notes.push(`Every task was limited to its first ${runs[0].limit} items (--limit): a smoke test, not a benchmark result.`);
  return notes;
}

export function qualitySection(runs: readonly ReportRun[]): string {
  const names = taskNames(runs);
  const notes = comparabilityNotes(runs).map((n) => `<p class="note">${escapeText(n)}</p>`).join('');
  const charts = names.map((task, i) => taskChart(runs, task, i)).join('\n');
  return `<section id="quality"><h2>Quality</h2>${notes}${metricTable(runs)}<div class="chart-grid">${charts}</div></section>`;
}
