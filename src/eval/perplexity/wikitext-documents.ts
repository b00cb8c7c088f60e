/**
 * WikiText-2 (raw, test split) as the two perplexity conventions read it.
 *
 * The data file is the HF `wikitext` rows joined with "\n\n" (what SparseGPT/Wanda-style code
 * builds). lm-eval instead reads EleutherAI/wikitext_document_level, whose loading script splits
 * the original wiki.test.raw into one document per article. We rebuild wiki.test.raw from the rows
 * (HF blanked its whitespace-only lines, which are " " in the original files) and split it the
 * way that script does: 62 documents for the test split.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileError } from '../../errors.js';

/** The data file, relative to the data folder. */
export const WIKITEXT2_TEST_FILE = 'wikitext2/derived_raw_hf_joined/wikitext-test.txt';

/** The joined test text with CRs dropped (the shared copy has CRLF line endings). */
export async function readWikitextTest(dataDir: string): Promise<string> {
  const file = join(dataDir, WIKITEXT2_TEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileError(file, code === 'ENOENT' ? 'not found (the WikiText-2 raw test text; see --data-dir)' : `cannot be read (${code})`);
  }
  return text.replaceAll('\r', '');
}

/** 1-based line of `offset` (CRs are gone, so lines are the file's own). */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * The HF rows back from "\n\n".join(rows). A non-empty row keeps its own "\n", so a row and the
 * separator after it read "text\n\n\n" and a plain split is ambiguous; rows are read one at a time:
 * a row is empty exactly when it starts at a "\n". `file` names the source in errors: text that is
 * not in this layout is a user's own (cut or edited) copy of the data file, not a bug.
 */
export function hfRows(joined: string, file: string = WIKITEXT2_TEST_FILE): string[] {
  const bad = (pos: number, problem: string) =>
    new FileError(file, `line ${lineAt(joined, pos)}: ${problem} (expected the HF WikiText-2 test rows joined with blank lines; is the file cut short or edited?)`);
  const rows: string[] = [];
  let pos = 0;
  for (;;) {
    if (pos < joined.length && joined[pos] !== '\n') {
      const end = joined.indexOf('\n', pos);
      if (end < 0) throw bad(pos, 'the last row has no closing newline');
      rows.push(joined.slice(pos, end + 1));
      pos = end + 1;
    } else {
      rows.push('');
    }
    if (pos >= joined.length) return rows;
    if (!joined.startsWith('\n\n', pos)) throw bad(pos, 'a row is not followed by the blank line that separates rows');
    pos += 2;
  }
}

/** wiki.test.raw: each row, with the original " " on blank lines. */
export function rawFromRows(rows: readonly string[]): string {
  return rows.map((row) => (row === '' ? ' \n' : row)).join('');
}

/** An article title line, " = Title = " (section headings are " = = Title = = " and deeper). */
function isArticleHeading(line: string): boolean {
  const collapsed = line.replaceAll('= = =', '===').replaceAll('= =', '==').trim();
  return collapsed.startsWith('= ') && collapsed.endsWith(' =');
}

/**
 * EleutherAI/wikitext_document_level's `_generate_examples`: lines (split at "\n") gathered until
 * the next article heading; whitespace-only runs before a heading are not a document; the last
 * document is always emitted (with the file's final "\n").
 */
export function splitDocuments(raw: string): string[] {
  const pages: string[] = [];
  let lines: string[] = [];
  for (const line of raw.split('\n')) {
    if (isArticleHeading(line)) {
      const page = lines.join('\n');
      if (page.trim() !== '') pages.push(page);
      lines = [];
    }
    lines.push(line);
  }
  pages.push(lines.join('\n'));
  return pages;
}

/** The test documents lm-eval's `wikitext` task scores, from the joined text read from `file`. */
export function wikitextDocuments(joined: string, file: string = WIKITEXT2_TEST_FILE): string[] {
  return splitDocuments(rawFromRows(hfRows(joined, file)));
}
