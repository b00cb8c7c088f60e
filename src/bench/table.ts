/** The bench record as a plain-text table: one row per figure, one column per model, then ratios. */
import type { ModelMeasurement, SpeedRecord, Stat } from './record.js';

function number(x: number): string {
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function count(x: number): string {
  for (const [scale, suffix] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) if (x >= scale) return `${(x / scale).toFixed(2)}${suffix}`;
  return String(x);
}

const stat = (s: Stat) => `${number(s.median)} (${number(s.min)}\u2013${number(s.max)})`;
const ratio = (x: number | undefined) => (x === undefined ? '' : `${x.toFixed(3)}\u00d7`);

interface Row {
  label: string;
  cell(m: ModelMeasurement): string;
  ratio?: number;
}

function rows(record: SpeedRecord): Row[] {
  const { settings, ratios } = record;
  return [
    { label: 'parameters', cell: (m) => count(m.model.parameters), ratio: ratios?.parameters },
    { label: 'FLOPs per token', cell: (m) => count(m.model.flops_per_token), ratio: ratios && 1 / ratios.flop_ratio },
    ...record.prefill.map(({ tokens }) => ({
      label: `prefill ${tokens} tokens (tokens/s)`,
      cell: (m: ModelMeasurement) => {
        const figure = m.prefill.find((p) => p.tokens === tokens);
        return figure ? stat(figure.tokens_per_s) : '\u2014';
      },
      ratio: ratios?.prefill_tokens_per_s[String(tokens)],
    })),
    { label: `decode ${settings.decode_tokens} tokens (tokens/s)`, cell: (m) => stat(m.decode.tokens_per_s), ratio: ratios?.decode_tokens_per_s },
    { label: `time to first token, ${settings.ttft_prompt_tokens}-token prompt (ms)`, cell: (m) => stat(m.ttft_ms), ratio: ratios?.ttft_ms },
    { label: 'peak RSS, model load included (MB)', cell: (m) => number(m.peak_rss_mb), ratio: ratios?.peak_rss_mb },
  ];
}

/** Lines to print: the table, the FLOP ratio and efficiencies (with a baseline), and how it was measured. */
export function benchTable(record: SpeedRecord): string[] {
  const columns = record.baseline ? [record.baseline, record] : [record];
  const header = ['', ...(record.baseline ? ['baseline', 'model', 'model/baseline'] : ['model'])];
  const body = rows(record).map((row) => [row.label, ...columns.map((m) => row.cell(m)), ...(record.baseline ? [ratio(row.ratio)] : [])]);
  const table = [header, ...body];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  const lines = table.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd());

  lines.push('', 'median (min\u2013max) of ' + `${record.settings.repeats} run(s) after ${record.settings.warmup} warm-up run(s); prompts: ${record.settings.prompt_ids}`);
  lines.push('FLOPs per token = 2 \u00d7 matmul parameters (q, k, v, o, MLP, lm_head); attention over the context not included');
  const { ratios } = record;
  if (ratios) {
    const prefill = Object.entries(ratios.efficiency.prefill).map(([tokens, e]) => `prefill ${tokens} ${e.toFixed(2)}`);
    lines.push(`FLOP ratio baseline/model: ${ratios.flop_ratio.toFixed(3)}\u00d7`);
    lines.push(`efficiency (speedup / FLOP ratio): ${[...prefill, `decode ${ratios.efficiency.decode.toFixed(2)}`, `ttft ${ratios.efficiency.ttft.toFixed(2)}`].join(', ')}`);
  }
  return lines;
}
