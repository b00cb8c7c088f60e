/**
 * The CLI's side of interruption (see src/interrupt.ts for what library code does): SIGINT and
 * SIGTERM request a stop, the running command unwinds through its `finally` blocks (staging
 * folders deleted, worker processes stopped), and main() prints one line and exits 130 or 143.
 * If unwinding has not finished within the grace period, or a second signal comes, the registered
 * cleanups run synchronously and the process exits at once: stopping never takes much more than
 * the grace period, whatever the command is doing.
 *
 * A new command needs nothing here: main() installs the handlers for every command.
 */
import {
  INTERRUPT_EXIT_CODES,
  type InterruptSignal,
  Interrupted,
  interruptedBy,
  isInterrupted,
  requestInterrupt,
  runInterruptCleanups,
} from '../interrupt.js';

/** Well inside the 2 seconds a user waits, with room for the unwind to close files and sessions. */
export const INTERRUPT_GRACE_MS = 1200;

export function interruptMessage(signal: InterruptSignal): string {
  return `amp-prune: interrupted (${signal}): nothing written`;
}

let gracefulStop: ((signal: InterruptSignal) => void) | undefined;

/**
 * For a command that can stop cleanly at its own pace and leave something resumable (finetune saves
 * its training state after the current step): while set, the first signal calls `stop` instead of
 * interrupting, with no deadline; a second signal still exits at once. Returns the unsetter.
 */
export function deferInterrupts(stop: (signal: InterruptSignal) => void): () => void {
  gracefulStop = stop;
  return () => {
    if (gracefulStop === stop) gracefulStop = undefined;
  };
}

/** Installs the handlers; returns a function that removes them (for in-process tests). */
export function installInterruptHandlers(graceMs = INTERRUPT_GRACE_MS): () => void {
  let watchdog: NodeJS.Timeout | undefined;
  let deferred = false;
  const onSignal = (signal: InterruptSignal): void => {
    if (isInterrupted() || deferred) {
      exitNow(interruptedBy() ?? signal);
      return;
    }
    if (gracefulStop) {
      deferred = true;
      gracefulStop(signal);
      return;
    }
    requestInterrupt(signal);
    watchdog = setTimeout(() => exitNow(signal), graceMs);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    clearTimeout(watchdog);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** After a stop was requested, whatever error surfaced is its consequence, not a bug to report. */
export function interruptionOf(error: unknown): InterruptSignal | undefined {
  if (error instanceof Interrupted) return error.signal;
  return interruptedBy();
}

/** Cleans up what the unwind left, prints the line and exits with the signal's code. */
export function exitNow(signal: InterruptSignal): never {
  runInterruptCleanups();
  // a progress bar may own the line and have hidden the cursor
  const terminal = process.stderr.isTTY ? '\n\x1b[?25h' : '';
  process.stderr.write(`${terminal}${interruptMessage(signal)}\n`);
  process.exit(INTERRUPT_EXIT_CODES[signal]);
}
