/**
 * The report page: one self-contained HTML file (inline CSS and SVG; no script, no fonts, no
 * network), so it can be mailed, archived, or opened offline. Same inputs, same bytes.
 */
import { escapeText } from './escape.js';
import type { ReportData } from './load.js';
import { modelSection } from './model-section.js';
import { pruningSection } from './pruning-section.js';
import { qualitySection } from './quality-section.js';
import { speedSection } from './speed.js';

const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", sans-serif; margin: 0 auto; padding: 24px 32px 48px; max-width: 1180px; color: #1d1d1f; background: #fff; line-height: 1.45; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
nav a { margin-right: 14px; color: #0b5cad; text-decoration: none; }
.muted, .detail { color: #5f6368; }
.note { background: #fff8e1; border-left: 4px solid #e6a700; padding: 6px 10px; margin: 8px 0; }
table.data { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
table.data th, table.data td { border-bottom: 1px solid #e3e3e3; padding: 5px 12px; text-align: left; vertical-align: top; }
table.data thead th { border-bottom: 2px solid #bbb; white-space: nowrap; }
table.data td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.detail { display: block; font-size: 12px; font-weight: normal; }
td.better .detail { color: #0a7a36; }
td.worse .detail { color: #b3261e; }
td.missing { color: #999; text-align: center; }
.chart-grid { display: flex; flex-wrap: wrap; gap: 16px; }
figure.chart-box { margin: 8px 0 16px; padding: 8px; border: 1px solid #e6e6e6; border-radius: 6px; max-width: 100%; overflow-x: auto; }
figure.chart-box figcaption { font-weight: 600; margin: 0 0 4px 4px; }
svg.chart { display: block; font-family: inherit; }
svg.chart .tick { font-size: 11px; fill: #444; }
svg.chart .axis-title { font-size: 12px; fill: #222; }
svg.chart .legend { font-size: 12px; fill: #222; }
svg.chart .value { font-size: 10px; fill: #333; }
svg.chart .grid { stroke: #e6e6e6; stroke-width: 1; }
svg.chart .axis { stroke: #888; stroke-width: 1; }
svg.chart .error-bar { stroke: #222; stroke-width: 1.4; fill: none; }
svg.chart rect.bar:hover { opacity: 0.8; }
`;

export function reportTitle(data: ReportData): string {
  return `amp-prune report: ${data.runs.map((r) => r.label).join(' vs ')}`;
}

function sourcesList(data: ReportData): string {
  const items = data.runs.map((r, i) => `<li>${escapeText(r.label)}${i === 0 ? ' (baseline)' : ''}: ${escapeText(r.file)}${r.finishedAt ? ` <span class="muted">finished ${escapeText(r.finishedAt)}</span>` : ''}</li>`);
  return `<ul class="muted">${items.join('')}</ul>`;
}

export function renderReport(data: ReportData): string {
  const pruningKeys = data.prunings.map((_, i) => String(i));
  const nav = [
    ['#models', 'Models'],
    ['#quality', 'Quality'],
    ...data.prunings.map((p, i): [string, string] => [`#pruning-${pruningKeys[i]}`, `Per layer: ${p.label}`]),
    ...(data.speeds.length > 0 ? [['#speed', 'Speed'] as [string, string]] : []),
  ];
  const body = [
    `<h1>${escapeText(reportTitle(data))}</h1>`,
    sourcesList(data),
    `<nav>${nav.map(([href, text]) => `<a href="${escapeText(href)}">${escapeText(text)}</a>`).join('')}</nav>`,
    ...data.notes.map((n) => `<p class="note">${escapeText(n)}</p>`),
    modelSection(data.runs),
    qualitySection(data.runs),
    ...data.prunings.map((p, i) => pruningSection(p.label, p.record, pruningKeys[i])),
    data.speeds.length > 0 ? speedSection(data.speeds) : '',
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No script, no remote anything: the page must render the same offline, forever.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeText(reportTitle(data))}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body.filter((part) => part !== ''),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
