/**
 * Stopping cleanly on Ctrl-C or SIGTERM, the same way in every command: one process-wide
 * cancellation signal that long loops poll, and a registry of cleanups (temporary paths, child
 * processes) that must not outlive the process. The CLI installs the signal handlers
 * (src/cli/interrupt.ts); library code only polls and registers, so it stays usable without them.
 *
 * How code takes part (a new command or writer needs nothing else):
 *  - a loop step that can take more than a moment (a forward pass, a tensor written, a request to
 *    a worker process) starts with `await interruptionPoint('<what>')`, or the synchronous
 *    `throwIfInterrupted()` where it cannot await. OrtSession.run, CheckpointWriter, GgufFileWriter,
 *    writeFileAtomic and the bench worker client already do, so code built on them is covered;
 *  - whatever is written to a temporary path is registered with `removeOnInterrupt(path)` and
 *    unregistered (call the returned function) once renamed into place or deleted. StagedFolder,
 *    writeFileAtomic and GgufFileWriter already do;
 *  - an `Interrupted` error must not be caught and turned into something else: let it reach the
 *    CLI through `finally` blocks, which delete staging folders as on any other failure.
 *
 * The CLI then prints one line and exits 130 (SIGINT) or 143 (SIGTERM). If unwinding takes longer
 * than a grace period (a long native call, a synchronous loop), the registered cleanups run
 * synchronously and the process exits anyway.
 */
import { rmSync } from 'node:fs';

export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** Exit codes as shells report a process killed by the signal (128 + signal number). */
export const INTERRUPT_EXIT_CODES: Record<InterruptSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** Thrown at an interruption point once a stop was requested; the CLI reports it in one line. */
export class Interrupted extends Error {
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted (${signal})`);
    this.name = 'Interrupted';
  }
}

let controller = new AbortController();
const cleanups = new Set<() => void>();

/** Aborted once a stop is requested; pass it to APIs that take an AbortSignal. */
export function interruptSignal(): AbortSignal {
  return controller.signal;
}

export function isInterrupted(): boolean {
  return controller.signal.aborted;
}

/** The signal that stopped this process, if any. */
export function interruptedBy(): InterruptSignal | undefined {
  const reason: unknown = controller.signal.reason;
  return reason instanceof Interrupted ? reason.signal : undefined;
}

/** Asks every interruption point to throw from now on (the CLI's signal handler calls this). */
export function requestInterrupt(signal: InterruptSignal): void {
  if (!controller.signal.aborted) controller.abort(new Interrupted(signal));
}

/** For tests that drive several commands in one process: forgets an earlier interruption. */
export function resetInterrupt(): void {
  controller = new AbortController();
}

export function throwIfInterrupted(): void {
  if (controller.signal.aborted) throw controller.signal.reason as Interrupted;
}

/**
 * Test hook: AMP_PRUNE_TEST_STEP_DELAY_MS=N makes every interruption point wait N ms (cut short
 * by an interruption) and print `amp-prune: test: step <what>` to stderr first, so that a test can
 * signal a child process at a known step. Unset, an interruption point costs one property read.
 */
export const STEP_DELAY_ENV = 'AMP_PRUNE_TEST_STEP_DELAY_MS';
const stepDelayMs = Number(process.env[STEP_DELAY_ENV] ?? 0);

export async function interruptionPoint(what: string): Promise<void> {
  throwIfInterrupted();
  if (stepDelayMs > 0) {
    process.stderr.write(`amp-prune: test: step ${what}\n`);
    await delayUnlessInterrupted(stepDelayMs);
    throwIfInterrupted();
  }
}

function delayUnlessInterrupted(ms: number): Promise<void> {
  const signal = controller.signal;
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Registers a synchronous cleanup to run if the process is stopped before the work finishes;
 * returns the function that unregisters it (call it when the work is committed or cleaned up).
 */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** A temporary file or folder to delete if the process is stopped; returns the unregister function. */
export function removeOnInterrupt(file: string): () => void {
  return onInterrupt(() => rmSync(file, { recursive: true, force: true, maxRetries: 3 }));
}

/** Runs (and forgets) every registered cleanup; one that fails does not stop the others. */
export function runInterruptCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // best effort: the process is exiting, and the other cleanups still matter
    }
  }
}
