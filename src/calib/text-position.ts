/** Where an offset of a text falls, for error messages that point into a file. */

/** 1-based line and column of the character at `offset`. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  let line = 1;
  for (let i = before.indexOf('\n'); i !== -1; i = before.indexOf('\n', i + 1)) line += 1;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/**
 * "line 3, column 14". The column matters: Alpaca exports are often a single line of megabytes,
 * where the line number alone points nowhere.
 */
export function describePosition(text: string, offset: number): string {
  const { line, column } = lineColumnAt(text, offset);
  return `line ${line}, column ${column}`;
}
