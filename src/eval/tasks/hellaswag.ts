/**
 * HellaSwag (lm-eval `hellaswag`, validation split). lm-eval hellaswag.yaml + utils.py:
 * query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()), choices =
 * preprocess(ending) for each ending, gold = int(label); metrics acc and acc_norm.
 *
 * Two sources, the first one present wins:
 * - hellaswag/hellaswag_val.jsonl, the original release (or an HF export): scored exactly as lm-eval.
 * - hellaswag/hellaswag_val_full.txt.bz2, the derived text rendering in ../shared/data (6 lines per
 *   item: "activity_label: ctx", gold, 4 endings, cleaned much like lm-eval). Its ctx is
 *   ctx_a + " " + ctx_b with ctx_b as written, where lm-eval capitalises ctx_b, and the split point
 *   is lost. The HellaSwag README says ctx_b holds the unfinished noun phrase a context ends in
 *   (ActivityNet items; otherwise it is empty), so ctx_b is taken to be the text after the last
 *   ". " of a context that does not end a sentence, and capitalised as lm-eval does; the result
 *   carries a note. lm-eval's preprocess is applied to the rendered lines as well, which makes them
 *   what lm-eval makes of the same text (the rendering kept e.g. "[insert name of town]").
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { FileError } from '../../errors.js';
import { Bzip2Error, bunzip2Blocks } from './bzip2.js';
import { fieldValue, parseJsonl, readDataFile, recordError, stringArrayField, stringField } from './data-files.js';
import type { JsonlRecord } from './data-files.js';
import { choicesAfterContext, multipleChoiceTask, withSource } from './multiple-choice.js';
import type { LoadedItems, MultipleChoiceItem } from './multiple-choice.js';
import { pyCapitalize, pyStrip } from './text.js';

const ORIGINAL = 'hellaswag/hellaswag_val.jsonl';
const RENDERING = 'hellaswag/hellaswag_val_full.txt.bz2';
const LINES_PER_ITEM = 6;
const ENDINGS = 4;

/** lm-eval's hellaswag `preprocess` (Python's "." does not match only "\n", hence [^\n]). */
export function preprocess(text: string): string {
  return pyStrip(text)
    .replaceAll(' [title]', '. ')
    .replace(/\[[^\n]*?\]/g, '')
    .replaceAll('  ', ' ');
}

function goldIndex(value: unknown): number | undefined {
  const gold = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(gold) && gold >= 0 && gold < ENDINGS ? gold : undefined;
}

/** lm-eval's process_docs on one original record. */
export function originalItem(record: JsonlRecord): MultipleChoiceItem {
  const label = fieldValue(record, 'label');
  const gold = goldIndex(label);
  if (gold === undefined) throw recordError(record, `"label" is ${JSON.stringify(label) ?? 'missing'}, not 0-3`);
  const ctx = `${stringField(record, 'ctx_a')} ${pyCapitalize(stringField(record, 'ctx_b'))}`;
  const query = preprocess(`${stringField(record, 'activity_label')}: ${ctx}`);
  return withSource(choicesAfterContext(query, stringArrayField(record, 'endings').map(preprocess), gold), record);
}

/**
 * A rendered "activity_label: ctx" line with lm-eval's ctx_b.capitalize() redone: when ctx ends
 * without closing a sentence, its last phrase (after the last ". ") is ctx_b.
 */
export function capitaliseUnfinishedPhrase(header: string): string {
  if (/[.!?]$/.test(header)) return header; // a finished sentence: ctx_b was empty
  const cut = header.lastIndexOf('. ');
  if (cut < 0 || cut < header.indexOf(': ')) return header; // no sentence before it: leave as written
  return header.slice(0, cut + 2) + pyCapitalize(header.slice(cut + 2));
}

/** The first `count` lines (all when undefined) of the rendering, decompressing no further. */
function renderedLines(file: string, bytes: Buffer, count: number | undefined): string[] {
  const decoder = new TextDecoder('utf-8');
  let text = '';
  let newlines = 0;
  try {
    for (const block of bunzip2Blocks(bytes)) {
      const chunk = decoder.decode(block, { stream: true });
      text += chunk;
      for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) newlines++;
      if (count !== undefined && newlines >= count) break;
    }
  } catch (error) {
    if (error instanceof Bzip2Error) throw new FileError(file, `not a readable bzip2 file (${error.message})`);
    throw error;
  }
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  return count === undefined ? lines : lines.slice(0, count);
}

function renderedItems(file: string, lines: string[]): MultipleChoiceItem[] {
  if (lines.length % LINES_PER_ITEM !== 0) {
    const item = Math.floor(lines.length / LINES_PER_ITEM) + 1;
    throw new FileError(file, `ends inside item ${item} (${LINES_PER_ITEM} lines per item: context, gold label, ${ENDINGS} endings)`);
  }
  const items: MultipleChoiceItem[] = [];
  for (let start = 0; start < lines.length; start += LINES_PER_ITEM) {
    const gold = goldIndex(lines[start + 1]);
    if (gold === undefined) throw new FileError(file, `line ${start + 2}: gold label "${lines[start + 1]}" is not 0-3`);
    const endings = lines.slice(start + 2, start + LINES_PER_ITEM).map(preprocess);
    items.push(withSource(choicesAfterContext(preprocess(capitaliseUnfinishedPhrase(lines[start])), endings, gold), { file, line: start + 1 }));
  }
  return items;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function loadHellaswag(dataDir: string, limit: number | undefined): Promise<LoadedItems> {
  if (await exists(join(dataDir, ORIGINAL))) {
    const { records } = parseJsonl(join(dataDir, ORIGINAL), await readDataFile(dataDir, ORIGINAL, 'hellaswag'), limit);
    return { items: records.map(originalItem) };
  }
  const file = join(dataDir, RENDERING);
  const lineCount = limit === undefined ? undefined : limit * LINES_PER_ITEM;
  const lines = renderedLines(file, await readDataFile(dataDir, RENDERING, 'hellaswag'), lineCount);
  return {
    items: renderedItems(file, lines),
    notes: [
      `read the derived text rendering ${RENDERING}, with ctx_b's capitalisation reconstructed; ` +
        `put the original hellaswag_val.jsonl in the hellaswag folder for exact agreement with lm-eval`,
    ],
  };
}

export const hellaswag = multipleChoiceTask({
  name: 'hellaswag',
  description: `HellaSwag sentence completion, validation (10042 items); reads ${ORIGINAL} if present, else ${RENDERING}`,
  files: [RENDERING],
  metrics: ['acc', 'acc_norm'],
  primaryMetric: 'acc_norm',
  load: loadHellaswag,
});
