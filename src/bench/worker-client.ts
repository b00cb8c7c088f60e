/**
 * The parent's side of a measuring process (worker.ts): start it, send one request at a time,
 * stop it. A worker that dies (a crash, the OOM killer) fails the pending request with its exit.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionOptions } from '../engine/session.js';
import { UserError } from '../errors.js';
import { interruptionPoint, interruptSignal, onInterrupt } from '../interrupt.js';
import type { WorkerReply, WorkerRequest, WorkerStart } from './protocol.js';

// Run from source (tsx, .ts) or built (dist, .js): the worker sits beside this file either way,
// and fork() passes on this process's execArgv (`--import tsx`) so the source case loads too.
const WORKER_FILE = fileURLToPath(new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export class MeasuringProcess {
  private pending: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void } | undefined;
  private exited: Error | undefined;
  /** A stopped parent kills its measuring processes rather than leave them running. */
  private readonly forgetOnInterrupt: () => void;

  private constructor(
    private readonly child: ChildProcess,
    private readonly label: string,
  ) {
    this.forgetOnInterrupt = onInterrupt(() => child.kill('SIGKILL'));
    child.once('exit', () => this.forgetOnInterrupt());
    child.on('message', (reply: WorkerReply) => this.settle((p) => p.resolve(reply)));
    child.on('exit', (code, signal) => {
      this.exited = new Error(`the process measuring ${label} exited (${signal ?? `code ${code}`})`);
      this.settle((p) => p.reject(this.exited!));
    });
    child.on('error', (error) => this.settle((p) => p.reject(error)));
  }

  private settle(action: (p: NonNullable<MeasuringProcess['pending']>) => void): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) action(pending);
  }

  private async exchange(request?: WorkerRequest): Promise<WorkerReply> {
    await interruptionPoint(request ? `measure ${request.kind}` : 'start measuring process');
    if (this.exited) throw this.exited;
    if (this.pending) throw new Error('MeasuringProcess: one request at a time');
    const signal = interruptSignal();
    const interrupted = () => this.settle((p) => p.reject(signal.reason as Error));
    signal.addEventListener('abort', interrupted, { once: true });
    try {
      return await new Promise<WorkerReply>((resolve, reject) => {
        this.pending = { resolve, reject };
        if (request) this.child.send(request);
      });
    } finally {
      signal.removeEventListener('abort', interrupted);
    }
  }

  /** Starts a process and waits until it has loaded the model. */
  static async start(checkpoint: string, session: SessionOptions, label: string): Promise<MeasuringProcess> {
    const start: WorkerStart = { checkpoint, session };
    const child = fork(WORKER_FILE, [JSON.stringify(start)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker = new MeasuringProcess(child, label);
    try {
      await worker.value(await worker.exchange());
    } catch (error) {
      await worker.stop();
      throw error;
    }
    return worker;
  }

  private value(reply: WorkerReply): { value: number; steps?: number } {
    if (reply.kind === 'error') throw reply.user ? new UserError(reply.message) : new Error(`${this.label}: ${reply.message}`);
    if (reply.kind === 'ready') return { value: 0 };
    return { value: reply.value, steps: reply.steps };
  }

  async request(request: WorkerRequest): Promise<{ value: number; steps?: number }> {
    return this.value(await this.exchange(request));
  }

  /**
   * Closing the IPC channel tells the worker to release its session and exit; one that has not
   * exited within `graceMs` is killed, so no measuring process outlives the command.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
