/** Models: architecture, parameter counts by component (change against the baseline) and how each was pruned. */
import type { ParamCounts } from '../arch/params.js';
import { formatCount, formatPercent, formatSigned } from './format.js';
import type { ReportRun } from './run-record.js';
import { htmlTable } from './table.js';
import type { CellInput } from './table.js';

const COMPONENTS: readonly [keyof ParamCounts, string][] = [
  ['embeddings', 'embeddings'],
  ['attention', 'attention'],
  ['mlp', 'MLP'],
  ['norms', 'norms'],
  ['lmHead', 'LM head'],
  ['total', 'total'],
];

function countCell(value: number, baseline: number, isBaseline: boolean): CellInput {
  if (isBaseline || baseline === 0) return { text: formatCount(value), className: 'number' };
  const change = (value - baseline) / baseline;
  return { text: formatCount(value), detail: change === 0 ? 'unchanged' : formatSigned(formatPercent(change), change), className: 'number' };
}

const orDash = (text: string | null): string => text ?? '\u2014';

export function modelSection(runs: readonly ReportRun[]): string {
  const base = runs[0].parameters;
  const head: CellInput[] = ['', ...runs.map((r, i) => ({ text: r.label, detail: i === 0 ? 'baseline' : undefined, title: r.modelPath }))];
  const rows: CellInput[][] = [
    [{ text: 'architecture', rowHeader: true }, ...runs.map((r) => r.architecture)],
    ...COMPONENTS.map(([key, name]): CellInput[] => [{ text: `${name} parameters`, rowHeader: true }, ...runs.map((r, i) => countCell(r.parameters[key], base[key], i === 0))]),
    [{ text: 'removed vs baseline', rowHeader: true }, ...runs.map((r, i) => (i === 0 ? '' : { text: formatPercent(1 - r.parameters.total / base.total), className: 'number' }))],
    [{ text: 'pruning method', rowHeader: true }, ...runs.map((r) => (r.pruning ? orDash(r.pruning.method) : 'none (dense)'))],
    [{ text: 'ratio asked / achieved', rowHeader: true }, ...runs.map((r) => (r.pruning ? `${orDash(r.pruning.ratioAsked === null ? null : formatPercent(r.pruning.ratioAsked))} / ${orDash(r.pruning.ratioAchieved === null ? null : formatPercent(r.pruning.ratioAchieved, 2))}` : '\u2014'))],
  ];
  return `<section id="models"><h2>Models</h2>${htmlTable(head, rows)}</section>`;
}
