/**
 * Running statistics of one layer over the calibration set, accumulated in float64 from the
 * per-sequence sums the layer graph emits (engine/layer.ts). Scorers read only these and the
 * layer's weights — never full activations.
 */
import type { Structure } from '../arch/spec.js';
import type { StatName } from '../engine/layer.js';
import type { OutputTensor } from '../engine/session.js';

export interface LayerStats {
  /** Calibration sequences seen. */
  sequences: number;
  /** Real (non-padding) tokens seen. */
  tokens: number;
  /** AMP head score: mean over sequences of (1/T)·Σ_t ‖c_n[t]‖₁. [heads] */
  headL1: Float64Array;
  /** AMP neuron score: mean over sequences of (1/T)·Σ_t |a_m[t]|. [intermediate] */
  neuronAbs: Float64Array;
  /** Σ over all tokens of the o_proj input and its square. [heads·head_dim] */
  oInSum: Float64Array;
  oInSq: Float64Array;
  /** Σ over all tokens of the down_proj input and its square. [intermediate] */
  mlpSum: Float64Array;
  mlpSq: Float64Array;
}

export function emptyStats(heads: number, headDim: number, intermediate: number): LayerStats {
  return {
    sequences: 0,
    tokens: 0,
    headL1: new Float64Array(heads),
    neuronAbs: new Float64Array(intermediate),
    oInSum: new Float64Array(heads * headDim),
    oInSq: new Float64Array(heads * headDim),
    mlpSum: new Float64Array(intermediate),
    mlpSq: new Float64Array(intermediate),
  };
}

/** Fold one batch's per-sequence sums ([B, F] each) into the running statistics. */
export function accumulate(stats: LayerStats, batch: Record<StatName, OutputTensor>, lengths: readonly number[]): void {
  const addRows = (target: Float64Array, src: OutputTensor, perSequenceMean: boolean) => {
    const F = target.length;
    if (src.dims[1] !== F) throw new Error(`statistics width ${src.dims[1]} != ${F}`);
    lengths.forEach((len, b) => {
      if (len === 0) return;
      const scale = perSequenceMean ? 1 / len : 1;
      const row = src.data.subarray(b * F, (b + 1) * F);
      for (let f = 0; f < F; f++) target[f] += row[f] * scale;
    });
  };
  addRows(stats.headL1, batch.headL1, true);
  addRows(stats.neuronAbs, batch.mlpAbs, true);
  addRows(stats.oInSum, batch.oInSum, false);
  addRows(stats.oInSq, batch.oInSq, false);
  addRows(stats.mlpSum, batch.mlpSum, false);
  addRows(stats.mlpSq, batch.mlpSq, false);
  for (const len of lengths) {
    if (len > 0) stats.sequences++;
    stats.tokens += len;
  }
}

/** Turn per-sequence sums of means into means over sequences (call once, after the last batch). */
export function finalize(stats: LayerStats): LayerStats {
  const n = Math.max(stats.sequences, 1);
  return {
    ...stats,
    headL1: stats.headL1.map((x) => x / n),
    neuronAbs: stats.neuronAbs.map((x) => x / n),
  };
}

/**
 * Σ x and Σ x² over all tokens of each input feature of the weights that read a structure's
 * output: o_proj's inputs are the heads' outputs, down_proj's the neurons' activations. Nothing
 * reads a KV head's output directly (it reaches o_proj through its query heads).
 */
export function readerInputs(stats: LayerStats, structure: Structure): { sum: Float64Array; sq: Float64Array } {
  if (structure === 'head') return { sum: stats.oInSum, sq: stats.oInSq };
  if (structure === 'neuron') return { sum: stats.mlpSum, sq: stats.mlpSq };
  throw new Error(`no calibration statistics for the inputs fed by a ${structure} (a column-owned ${structure} weight needs a tap in engine/layer.ts)`);
}
