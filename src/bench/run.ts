/**
 * A speed benchmark of one model, or of a model against a baseline: every setting is checked
 * against both configs before anything loads, each model is measured in its own process, and
 * with a baseline the two are timed in alternating rounds (baseline, then model, one run of every
 * figure each) so that drift in machine load touches both alike.
 */
import os from 'node:os';
import { VERSION } from '../engine/model.js';
import type { SessionOptions } from '../engine/session.js';
import { UsageError, UserError } from '../errors.js';
import { describeModel } from './models.js';
import { PROMPT_IDS_DESCRIPTION } from './prompt.js';
import type { WorkerRequest } from './protocol.js';
import { speedRatios } from './ratios.js';
import type { BenchSettings, HostSummary, ModelMeasurement, ModelSummary, SpeedRecord } from './record.js';
import { summarize } from './stats.js';
import { MeasuringProcess } from './worker-client.js';

export const DEFAULT_PROMPT_LENGTHS = [128, 512, 2048] as const;
/** Time to first token is measured on a short prompt, as a chat turn would be. */
export const TTFT_PROMPT_TOKENS = 32;

export interface BenchRequest {
  model: string;
  baseline?: string;
  /** Absent: DEFAULT_PROMPT_LENGTHS, less those a model cannot take. */
  promptLengths?: readonly number[];
  decodeTokens: number;
  repeats: number;
  warmup: number;
  session: SessionOptions;
}

export interface BenchProgress {
  phase(name: string, total: number): void;
  tick(detail?: string): void;
  done(): void;
}

export interface BenchOutcome {
  record: SpeedRecord;
  /** Things the reader should know (default prompt lengths dropped). */
  notes: string[];
}

const SILENT: BenchProgress = { phase() {}, tick() {}, done() {} };

/** One timed operation and how its raw reply becomes the figure's value. */
interface Measurement {
  label: string;
  request: WorkerRequest;
  value(reply: { value: number; steps?: number }): number;
}

function measurements(promptLengths: readonly number[], decodeTokens: number): Measurement[] {
  return [
    ...promptLengths.map((tokens): Measurement => ({ label: `prefill ${tokens}`, request: { kind: 'prefill', tokens }, value: (r) => tokens / r.value })),
    { label: 'ttft', request: { kind: 'ttft', tokens: TTFT_PROMPT_TOKENS }, value: (r) => r.value * 1000 },
    { label: 'decode', request: { kind: 'decode', promptTokens: TTFT_PROMPT_TOKENS, steps: decodeTokens }, value: (r) => (r.steps ?? decodeTokens) / r.value },
  ];
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new UsageError(`${name} must be a whole number >= ${min} (got ${value})`);
}

/** The prompt lengths to measure: explicit ones must fit every model; defaults are trimmed to fit. */
function choosePromptLengths(asked: readonly number[] | undefined, models: readonly ModelSummary[], notes: string[]): number[] {
  const limit = Math.min(...models.map((m) => m.max_position_embeddings ?? Infinity));
  if (asked !== undefined) {
    if (asked.length === 0) throw new UsageError('--prompt-lengths lists no lengths');
    asked.forEach((n) => checkCount('--prompt-lengths', n, 1));
    const tooLong = asked.find((n) => n > limit);
    if (tooLong !== undefined) {
      const culprit = models.find((m) => (m.max_position_embeddings ?? Infinity) < tooLong)!;
      throw new UserError(`--prompt-lengths ${tooLong} exceeds the max_position_embeddings of ${culprit.path} (${limit})`);
    }
    return [...new Set(asked)].sort((a, b) => a - b);
  }
  const fitting = DEFAULT_PROMPT_LENGTHS.filter((n) => n <= limit);
  const dropped = DEFAULT_PROMPT_LENGTHS.filter((n) => n > limit);
  if (dropped.length > 0) notes.push(`default prompt lengths ${dropped.join(', ')} skipped: max_position_embeddings is ${limit}`);
  return fitting.length > 0 ? fitting : [limit];
}

function checkDecodeFits(decodeTokens: number, models: readonly ModelSummary[]): void {
  for (const m of models) {
    const limit = m.max_position_embeddings;
    if (limit !== null && TTFT_PROMPT_TOKENS + decodeTokens > limit) {
      throw new UserError(`--decode-tokens ${decodeTokens} after a ${TTFT_PROMPT_TOKENS}-token prompt exceeds the max_position_embeddings of ${m.path} (${limit})`);
    }
  }
}

function host(): HostSummary {
  return { platform: os.platform(), arch: os.arch(), cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version };
}

/** One process per model; the ones already started are stopped if a later one fails to start. */
async function startAll(models: readonly ModelSummary[], session: SessionOptions, progress: BenchProgress): Promise<MeasuringProcess[]> {
  const started: MeasuringProcess[] = [];
  progress.phase('loading', models.length);
  try {
    for (const m of models) {
      started.push(await MeasuringProcess.start(m.checkpoint, session, m.path));
      progress.tick(m.path);
    }
  } catch (error) {
    await Promise.all(started.map((p) => p.stop()));
    throw error;
  } finally {
    progress.done();
  }
  return started;
}

export async function runBench(req: BenchRequest, progress: BenchProgress = SILENT): Promise<BenchOutcome> {
  checkCount('--decode-tokens', req.decodeTokens, 1);
  checkCount('--repeats', req.repeats, 1);
  checkCount('--warmup', req.warmup, 0);
  const notes: string[] = [];
  // baseline first: it is loaded, warmed and timed first in every round
  const models = [...(req.baseline === undefined ? [] : [await describeModel(req.baseline)]), await describeModel(req.model)];
  const promptLengths = choosePromptLengths(req.promptLengths, models, notes);
  checkDecodeFits(req.decodeTokens, models);

  const plan = measurements(promptLengths, req.decodeTokens);
  const runs = models.map(() => plan.map((): number[] => []));
  const peakRssBytes: number[] = [];
  const processes = await startAll(models, req.session, progress);
  try {
    const rounds = req.warmup + req.repeats;
    progress.phase('measuring', rounds * models.length * plan.length);
    for (let round = 0; round < rounds; round++) {
      for (const [m, proc] of processes.entries()) {
        for (const [i, op] of plan.entries()) {
          const value = op.value(await proc.request(op.request));
          if (round >= req.warmup) runs[m][i].push(value);
          progress.tick(`${round < req.warmup ? 'warm-up' : `run ${round - req.warmup + 1}/${req.repeats}`}: ${op.label}`);
        }
      }
    }
    for (const proc of processes) peakRssBytes.push((await proc.request({ kind: 'peak-rss' })).value);
  } finally {
    progress.done();
    await Promise.all(processes.map((p) => p.stop()));
  }

  const statOf = (m: number, label: string) => summarize(runs[m][plan.findIndex((op) => op.label === label)]);
  const measured: ModelMeasurement[] = models.map((model, m) => ({
    model,
    prefill: promptLengths.map((tokens) => ({ tokens, tokens_per_s: statOf(m, `prefill ${tokens}`) })),
    ttft_ms: statOf(m, 'ttft'),
    decode: { tokens: req.decodeTokens, prompt_tokens: TTFT_PROMPT_TOKENS, tokens_per_s: statOf(m, 'decode') },
    peak_rss_mb: peakRssBytes[m] / 2 ** 20,
  }));
  const settings: BenchSettings = {
    prompt_lengths: promptLengths,
    decode_tokens: req.decodeTokens,
    ttft_prompt_tokens: TTFT_PROMPT_TOKENS,
    repeats: req.repeats,
    warmup: req.warmup,
    threads: req.session.threads ?? null,
    device: req.session.device ?? 'cpu',
    prompt_ids: PROMPT_IDS_DESCRIPTION,
    order:
      models.length > 1
        ? `alternating rounds, baseline then model, each one run of every figure; ${req.warmup} warm-up round(s) excluded; one process per model`
        : null,
  };
  const model = measured[measured.length - 1];
  const baseline = measured.length > 1 ? measured[0] : undefined;
  const record: SpeedRecord = {
    tool: { name: 'amp-prune', version: VERSION },
    ...model,
    settings,
    host: host(),
    ...(baseline ? { baseline, ratios: speedRatios(model, baseline) } : {}),
    finished_at: new Date().toISOString(),
  };
  return { record, notes };
}
