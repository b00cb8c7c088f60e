/**
 * Where each element of a top-level JSON array starts and ends, found by scanning brackets and
 * strings without parsing. JSON.parse gives neither positions of values nor, for a broken file,
 * which record broke; this lets errors say "record 12 (line 40, column 3)".
 */

export interface Span {
  /** Offset of the element's first non-blank character. */
  start: number;
  /** Offset just past its last non-blank character. */
  end: number;
}

export interface ArrayScan {
  /** One span per element; a blank element (as in `[1,,2]` or `[1,]`) has start === end. */
  elements: Span[];
  /** Offset of the closing bracket, or undefined when the text ends inside the array. */
  closeAt?: number;
}

const WHITESPACE = /\s/;

function trimmedSpan(text: string, start: number, end: number): Span {
  while (start < end && WHITESPACE.test(text[start])) start += 1;
  while (end > start && WHITESPACE.test(text[end - 1])) end -= 1;
  return { start, end };
}

/** Scans the array whose `[` is at `openAt`. Strings are skipped whole, so brackets inside them don't count. */
export function scanArray(text: string, openAt: number): ArrayScan {
  const elements: Span[] = [];
  let depth = 0;
  let elementStart = openAt + 1;
  for (let i = openAt + 1; i < text.length; i += 1) {
    const char = text[i];
    if (char === '"') {
      i = endOfString(text, i);
    } else if (char === '{' || char === '[') {
      depth += 1;
    } else if ((char === '}' || char === ']') && depth > 0) {
      depth -= 1;
    } else if (depth === 0 && (char === ',' || char === ']')) {
      const span = trimmedSpan(text, elementStart, i);
      // `[]` and `[ ]` hold no element; a blank before `,` or a trailing `,` is a (broken) element.
      if (char === ',' || span.start < span.end || elements.length > 0) elements.push(span);
      if (char === ']') return { elements, closeAt: i };
      elementStart = i + 1;
    }
  }
  elements.push(trimmedSpan(text, elementStart, text.length));
  return { elements };
}

/** Offset of the quote closing the string opened at `openAt` (the last offset when unterminated). */
function endOfString(text: string, openAt: number): number {
  for (let i = openAt + 1; i < text.length; i += 1) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}
