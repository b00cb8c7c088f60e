/**
 * The only module that imports onnxruntime. Sessions are created from graph bytes with the
 * execution provider the user picked; results come back as plain typed arrays.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { UsageError, UserError } from '../errors.js';
import { interruptionPoint } from '../interrupt.js';
import type { AttentionPreference } from './attention.js';

// onnxruntime's own logger writes multi-line native messages to stderr; failures reach the user
// as one-line errors instead. AMP_PRUNE_ORT_LOG=verbose|info|warning|error brings the log back.
ort.env.logLevel = (process.env.AMP_PRUNE_ORT_LOG as typeof ort.env.logLevel | undefined) ?? 'fatal';

export const DEVICES = ['cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
export type Device = (typeof DEVICES)[number];

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads; default: every core. */
  threads?: number;
  /** Which attention kernel graphs built for these sessions use (attention.ts); default 'auto',
   *  or AMP_PRUNE_ATTENTION. Carried here because every graph builder receives these options. */
  attention?: AttentionPreference;
  /**
   * onnxruntime's CPU memory arena (default on) keeps each session's largest intermediates for the
   * next run. Off, they are freed after every run: what a pass that holds big Gram matrices in
   * JavaScript besides its sessions wants (the recovery pass: 4.2 -> 2.3 GB peak RSS at
   * Llama-3.2-1B's layer shape), at the cost of fresh allocations per run.
   */
  memoryArena?: boolean;
}

export type FeedTensor =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'float64'; data: Float64Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] }
  | { type: 'int32'; data: Int32Array; dims: readonly number[] };

export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

export function parseDevice(value: string): Device {
  if (!(DEVICES as readonly string[]).includes(value)) {
    throw new UsageError(`unknown device '${value}' (choose one of: ${DEVICES.join(', ')})`);
  }
  return value as Device;
}

/** Execution providers this onnxruntime-node build ships. */
export function availableDevices(): string[] {
  return ort.listSupportedBackends().map((b) => b.name);
}

export class OrtSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** `model`: graph bytes, or an .onnx file's path (its external weight data resolved beside it). */
  static async create(model: Uint8Array | string, opts: SessionOptions = {}): Promise<OrtSession> {
    const device = opts.device ?? 'cpu';
    const available = availableDevices();
    if (!available.includes(device)) {
      throw new UserError(`device '${device}' is not available in this onnxruntime-node build (available: ${available.join(', ')})`);
    }
    try {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [device],
        intraOpNumThreads: opts.threads ?? os.availableParallelism(),
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        enableCpuMemArena: opts.memoryArena ?? true,
        // onnxruntime logs provider start-up failures itself; we report them in one line instead
        logSeverityLevel: device === 'cpu' ? 3 : 4,
        // AMP_PRUNE_ORT_PROFILE=PREFIX: onnxruntime's per-node timings, one JSON per session, written at release
        ...(process.env.AMP_PRUNE_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.AMP_PRUNE_ORT_PROFILE } : {}),
      };
      const session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
      return new OrtSession(session);
    } catch (e) {
      if (device !== 'cpu') {
        const hint = device === 'cuda' ? ' (onnxruntime-node needs its CUDA 12 binaries: reinstall it with ONNXRUNTIME_NODE_INSTALL_CUDA=v12 on a machine with CUDA and cuDNN)' : '';
        throw new UserError(`device '${device}' could not start: ${(e as Error).message.split('\n')[0]}${hint}`);
      }
      throw e;
    }
  }

  async run(feeds: Record<string, FeedTensor>, outputs?: readonly string[]): Promise<Record<string, OutputTensor>> {
    await interruptionPoint('forward');
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      checkFeedShape(name, t);
      ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    const result = outputs ? await this.session.run(ortFeeds, outputs as string[]) : await this.session.run(ortFeeds);
    const out: Record<string, OutputTensor> = {};
    for (const [name, t] of Object.entries(result)) {
      out[name] = { data: t.data as Float32Array, dims: [...t.dims] };
      t.dispose?.();
    }
    return out;
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  async release(): Promise<void> {
    if (process.env.AMP_PRUNE_ORT_PROFILE) this.session.endProfiling();
    await this.session.release();
  }
}

/**
 * onnxruntime trusts a feed's dims: a buffer shorter than they say is read past its end in native
 * code. Every feed is checked here, so a shape bug (or a hostile file's) is an exception instead.
 */
function checkFeedShape(name: string, t: FeedTensor): void {
  let elements = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`onnxruntime feed ${name}: dims [${t.dims.join(', ')}] are not whole numbers >= 0`);
    elements *= d;
  }
  if (elements !== t.data.length) throw new Error(`onnxruntime feed ${name}: dims [${t.dims.join(', ')}] need ${elements} values, got ${t.data.length}`);
}
