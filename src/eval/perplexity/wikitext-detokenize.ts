/**
 * lm-eval's `wikitext` task text functions (lm_eval/tasks/wikitext/preprocess_wikitext.py):
 * the detokenizer that turns a page into the scored target, and the word/byte counts taken on the
 * page BEFORE detokenization.
 *
 * Python's `\s` (str patterns) and JavaScript's differ (Python adds U+001C–U+001F and U+0085; JS
 * adds U+FEFF), so the class is spelled out as Python has it.
 */

const PY_SPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const pyRegex = (source: string): RegExp => new RegExp(source.replaceAll('\\s', PY_SPACE), 'gu');

// One regex per bracket pair: strip spaces just inside it (non-greedy, as in Python).
const INSIDE_PARENS = pyRegex('\\(\\s*([^)]*?)\\s*\\)');
const INSIDE_SQUARE = pyRegex('\\[\\s*([^\\]]*?)\\s*\\]');
const INSIDE_BRACES = pyRegex('\\{\\s*([^}]*?)\\s*\\}');
const INSIDE_DOUBLE_QUOTES = pyRegex('"\\s*([^"]*?)\\s*"');
const INSIDE_SINGLE_QUOTES = pyRegex("'\\s*([^']*?)\\s*'");
const WORD_SEPARATOR = pyRegex('\\s+');

/** `wikitext_detokenizer(doc)`, step for step (the order matters: later steps see earlier output). */
export function wikitextDetokenize(page: string): string {
  let s = page;
  // contractions
  s = s.replaceAll("s '", "s'");
  s = s.replace(/\/' [0-9]\//g, "/'[0-9]/"); // sic: a literal pattern in the original
  // number separators
  s = s.replaceAll(' @-@ ', '-');
  s = s.replaceAll(' @,@ ', ',');
  s = s.replaceAll(' @.@ ', '.');
  // punctuation
  s = s.replaceAll(' : ', ': ');
  s = s.replaceAll(' ; ', '; ');
  s = s.replaceAll(' . ', '. ');
  s = s.replaceAll(' ! ', '! ');
  s = s.replaceAll(' ? ', '? ');
  s = s.replaceAll(' , ', ', ');
  // double brackets
  s = s.replace(INSIDE_PARENS, '($1)');
  s = s.replace(INSIDE_SQUARE, '[$1]');
  s = s.replace(INSIDE_BRACES, '{$1}');
  s = s.replace(INSIDE_DOUBLE_QUOTES, '"$1"');
  s = s.replace(INSIDE_SINGLE_QUOTES, "'$1'");
  // miscellaneous
  s = s.replaceAll('= = = =', '====');
  s = s.replaceAll('= = =', '===');
  s = s.replaceAll('= =', '==');
  s = s.replaceAll(' \u00b0 ', '\u00b0');
  s = s.replaceAll(' \n', '\n');
  s = s.replaceAll('\n ', '\n');
  s = s.replaceAll(' N ', ' 1 ');
  s = s.replaceAll(" 's", "'s");
  return s;
}

/** `len(re.split(r"\s+", page))`: leading/trailing whitespace counts as an empty word, as in Python. */
export function countWords(page: string): number {
  return page.split(WORD_SEPARATOR).length;
}

export function countUtf8Bytes(page: string): number {
  return Buffer.byteLength(page, 'utf8');
}
