/** HTML tables from rows of cells; cell text is escaped here, so callers pass plain strings. */
import { escapeText } from './escape.js';

export interface TableCell {
  text: string;
  /** A second, smaller line (e.g. the change against the baseline). */
  detail?: string;
  className?: string;
  /** Hover text. */
  title?: string;
  /** Header cell for the row (th scope=row). */
  rowHeader?: boolean;
}

export type CellInput = string | TableCell;

function cell(input: CellInput, tag: 'td' | 'th'): string {
  const c: TableCell = typeof input === 'string' ? { text: input } : input;
  const name = c.rowHeader ? 'th' : tag;
  const attributes = [c.rowHeader ? ' scope="row"' : '', c.className ? ` class="${escapeText(c.className)}"` : '', c.title ? ` title="${escapeText(c.title)}"` : ''].join('');
  const detail = c.detail ? `<span class="detail">${escapeText(c.detail)}</span>` : '';
  return `<${name}${attributes}>${escapeText(c.text)}${detail}</${name}>`;
}

export function htmlTable(head: readonly CellInput[], rows: readonly (readonly CellInput[])[], className = 'data'): string {
  const headRow = `<tr>${head.map((h) => cell(h, 'th')).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((c) => cell(c, 'td')).join('')}</tr>`).join('\n');
  return `<table class="${escapeText(className)}"><thead>${headRow}</thead><tbody>\n${body}\n</tbody></table>`;
}
