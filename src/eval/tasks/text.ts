/**
 * Python string semantics that lm-eval's prompts depend on. JavaScript's trim() and Python's
 * strip() disagree on a few characters (\x1c-\x1f and \x85 are Python whitespace, \ufeff is not),
 * and Python's len() counts code points, not UTF-16 units.
 */

/** The characters for which Python's str.isspace() is true. */
const PY_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING = new RegExp(`^[${PY_WHITESPACE}]+`);
const TRAILING = new RegExp(`[${PY_WHITESPACE}]+$`);

/** Python's str.strip() with no argument. */
export function pyStrip(text: string): string {
  return pyRstrip(pyLstrip(text));
}

/** Python's str.lstrip() with no argument. */
export function pyLstrip(text: string): string {
  return text.replace(LEADING, '');
}

/** Python's str.rstrip() with no argument. */
export function pyRstrip(text: string): string {
  return text.replace(TRAILING, '');
}

/**
 * Python's str.capitalize(): first character upper-cased, the rest lower-cased. (Python title-cases
 * the first character; that differs from upper case only for digraphs such as 'ǆ'.)
 */
export function pyCapitalize(text: string): string {
  const first = text.codePointAt(0);
  if (first === undefined) return '';
  const head = String.fromCodePoint(first);
  return head.toUpperCase() + text.slice(head.length).toLowerCase();
}

/** Python's len() of a str: Unicode code points. */
export function pyLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
