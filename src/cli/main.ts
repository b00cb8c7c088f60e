/**
 * The CLI's single exit point: runs the program, turns typed errors into one-line messages and
 * exit codes. A UserError prints `amp-prune: error: <message>` (stack only with --debug); anything
 * else is a bug and says so. SIGINT/SIGTERM stop any command in one line (see ./interrupt.ts).
 */
import { CommanderError } from 'commander';
import { UsageError, UserError } from '../errors.js';
import { buildProgram } from './program.js';
import { exitNow, installInterruptHandlers, interruptionOf } from './interrupt.js';

/** Bad input: a file, folder, model or data that is missing or malformed, a value that does not fit the model. */
export const EXIT_USER_ERROR = 1;
/** A bad command line: unknown command or flag, a missing required one, a bad flag value, flags that conflict. */
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const uninstall = installInterruptHandlers();
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (error) {
    const signal = interruptionOf(error);
    // exits at once: an onnxruntime thread pool or a worker process must not keep it alive
    if (signal) exitNow(signal);
    process.exitCode = report(error, debug);
  } finally {
    uninstall();
  }
}

function report(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (or the help text)
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof UserError) {
    console.error(`amp-prune: error: ${error.message}`);
    if (debug) console.error(error.stack);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_USER_ERROR;
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  console.error(`amp-prune: internal error: ${message}`);
  console.error(debug && error instanceof Error ? error.stack : '(run again with --debug for the stack trace; please report it)');
  return EXIT_INTERNAL;
}
