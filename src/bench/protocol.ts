/**
 * Messages between the bench orchestrator and a measuring process. Each model is measured in its
 * own child process so that its peak RSS is its own, and two models can be timed alternately
 * without either paying for the other's memory.
 */
import type { SessionOptions } from '../engine/session.js';

/** argv[2] of the worker: JSON of this. */
export interface WorkerStart {
  checkpoint: string;
  session: SessionOptions;
}

export type WorkerRequest =
  /** One forward over a `tokens`-long prompt (logits and KV cache out, as generation's prefill). */
  | { kind: 'prefill'; tokens: number }
  /** Prompt in to first token out: prefill of `tokens` tokens plus the argmax. */
  | { kind: 'ttft'; tokens: number }
  /** `steps` tokens generated on the cache after a `promptTokens` prompt. */
  | { kind: 'decode'; promptTokens: number; steps: number }
  | { kind: 'peak-rss' };

export type WorkerReply =
  | { kind: 'ready' }
  /** prefill, ttft: seconds; decode: Σ step seconds over `steps` steps; peak-rss: bytes. */
  | { kind: 'result'; value: number; steps?: number }
  /** `user`: the error was the user's (a UserError), to be shown as one line. */
  | { kind: 'error'; message: string; user: boolean };
