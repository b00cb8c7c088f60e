/**
 * Typed errors. Only the CLI entry point decides how to print them and which exit code to use:
 * a UserError is one line (no stack unless --debug), exit 1, or 2 for a UsageError; anything else
 * is a bug.
 */

/**
 * Bad input from the user: a file, a flag, a model. The message is one line naming the culprit:
 * control characters (a tensor name with a newline in a hostile file, say) are shown escaped.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = 'UserError';
  }
}

/**
 * A command line that is wrong in itself, whatever the files hold: a flag value of the wrong kind,
 * out of its range or not one of its choices, or flags that cannot go together. The CLI exits 2
 * for it, as for commander's own usage errors; other UserErrors (files, models, data, values that
 * do not fit the model at hand) exit 1.
 */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A UserError about one file: rendered as `<file>: <problem>`. */
export class FileError extends UserError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'FileError';
  }
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with control characters escaped (\n, \x1b, ...), so that it prints as one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
