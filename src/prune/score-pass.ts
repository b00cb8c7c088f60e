/**
 * The scoring pass: calibration hidden states stream through the DENSE model one layer at a time
 * (as the paper scores), each layer's running statistics are gathered, and the method scores it
 * while its weights are in memory. Peak memory ≈ one layer's weights + the calibration activations.
 */
import type { Checkpoint } from '../engine/checkpoint.js';
import { WeightReader } from '../engine/checkpoint.js';
import { padBatch, sequenceLengths } from '../engine/batch.js';
import { embed, LayerRunner } from '../engine/layer-runner.js';
import { PreparedBatch } from '../engine/prepared-batch.js';
import type { SessionOptions } from '../engine/session.js';
import { UserError } from '../errors.js';
import { firstNonFiniteValue } from '../io/finite.js';
import type { LayerScores } from '../plan/types.js';
import { accumulate, emptyStats, finalize } from '../score/stats.js';
import type { LayerStats } from '../score/stats.js';
import type { Method, ScoreContext } from '../score/types.js';

export interface ScorePassOptions {
  method: Method;
  /** Calibration token sequences (ignored by methods that need none). */
  sequences: number[][];
  seed: number;
  /** Upper bound on B·T per forward; derived from memory when absent. */
  maxBatchTokens?: number;
  session?: SessionOptions;
  onProgress?: (event: { layer: number; layers: number; batch: number; batches: number }) => void;
}

export interface ScorePassResult {
  scores: LayerScores[];
  /** Per-layer statistics the scores were computed from. */
  stats: LayerStats[];
}

/**
 * Batches of similar-length sequences (sorted by length, stable) under a token budget. The
 * head-contribution tap materialises [B, heads, T, hidden] floats, so the budget keeps that near
 * 128 MiB (larger batches barely speed scoring up, and would dominate peak memory).
 */
export function batchSequences(sequences: number[][], spec: { hidden: number; layers: { heads: number }[] }, maxTokens?: number): number[][][] {
  const heads = Math.max(...spec.layers.map((l) => l.heads));
  const budget = maxTokens ?? Math.max(64, Math.floor((128 * 2 ** 20) / (4 * heads * spec.hidden)));
  const order = sequences.map((s, i) => ({ s, i })).sort((a, b) => a.s.length - b.s.length || a.i - b.i);
  const batches: number[][][] = [];
  let current: number[][] = [];
  for (const { s } of order) {
    const longest = Math.max(s.length, ...current.map((c) => c.length));
    if (current.length > 0 && longest * (current.length + 1) > budget) {
      batches.push(current);
      current = [];
    }
    current.push(s);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export async function scorePass(ckpt: Checkpoint, opts: ScorePassOptions): Promise<ScorePassResult> {
  const { spec, store } = ckpt;
  const reader = new WeightReader(store);
  const runner = new LayerRunner(spec, opts.session);
  const needsForward = opts.method.needsCalibration;
  const batches = needsForward ? batchSequences(opts.sequences, spec, opts.maxBatchTokens) : [];
  const prepared = batches.map((seqs) => new PreparedBatch(spec, padBatch(seqs)));
  const lengths = prepared.map((p) => sequenceLengths(p.tokens));
  let hidden: Float32Array[] = [];
  if (needsForward) {
    const table = (await reader.globals(spec)).get('embed.weight')!;
    hidden = prepared.map((p) => embed(table, p.tokens.ids, spec.hidden));
  }

  const scores: LayerScores[] = [];
  const allStats: LayerStats[] = [];
  try {
    for (let layer = 0; layer < spec.numLayers; layer++) {
      const weights = await reader.layer(spec, layer);
      const shape = spec.layers[layer];
      const stats = emptyStats(shape.heads, spec.headDim, shape.intermediate);
      for (let b = 0; b < prepared.length; b++) {
        const out = await runner.run(layer, hidden[b], prepared[b], weights, { stats: true });
        checkFinite(out.hidden, () => `layer ${layer}'s output on the calibration data (batch ${b + 1})`);
        accumulate(stats, out.stats!, lengths[b]);
        hidden[b] = out.hidden;
        opts.onProgress?.({ layer, layers: spec.numLayers, batch: b + 1, batches: prepared.length });
      }
      if (prepared.length === 0) opts.onProgress?.({ layer, layers: spec.numLayers, batch: 1, batches: 1 });
      const final = finalize(stats);
      scores.push(scoreLayer(opts.method, { spec, layer, stats: final, weights, seed: opts.seed }));
      allStats.push(final);
    }
  } finally {
    await runner.close();
  }
  return { scores, stats: allStats };
}

/** The method's scores of one layer, refused when they are not finite. */
export function scoreLayer(method: Method, ctx: ScoreContext): LayerScores {
  const scores = method.score(ctx);
  checkFinite(scores.heads, () => `layer ${ctx.layer}'s ${method.name} scores of attention heads`);
  checkFinite(scores.neurons, () => `layer ${ctx.layer}'s ${method.name} scores of MLP neurons`);
  return scores;
}

/**
 * Finite weights can still overflow float32 activations (or a score can divide by zero): pruning
 * by NaN scores would keep arbitrary structures, so the run stops and says where it went wrong.
 */
export function checkFinite(values: ArrayLike<number>, what: () => string): void {
  const bad = firstNonFiniteValue(values);
  if (bad) throw new UserError(`${what()} holds ${bad.kind} (at value ${bad.index}): the model's numbers overflow or are broken, so it cannot be scored`);
}
