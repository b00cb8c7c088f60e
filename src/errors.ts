/**
 * Typed errors. Only the CLI entry point decides how to print them and which exit code to use:
 * a UserError is one line (no stack unless --debug); anything else is a bug.
 */

/** Bad input from the user: a file, a flag, a model. The message is one line naming the culprit. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
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
