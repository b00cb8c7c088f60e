/**
 * The vocabulary of pruning plans: importance scores in, kept structures out. A plan is what
 * `amp_prune.json` records and what the slicer applies.
 */
import type { LayerShape } from '../arch/spec.js';

/** Importance per query head and per MLP neuron of one layer; higher = more important. */
export interface LayerScores {
  heads: Float64Array;
  neurons: Float64Array;
}

/**
 * How grouped-query attention is pruned (AMP-SPEC "Beyond the paper"):
 * - group: a KV group scores as the mean of its query heads; whole groups go (query heads + K/V head);
 * - query: the same number of query heads leaves every group; all KV heads stay.
 * For multi-head attention (one query head per KV head) both are the paper's rule.
 */
export type GqaMode = 'group' | 'query';

export type Allocation =
  /** The paper: the same fraction of every (non-skipped) layer. */
  | { kind: 'uniform' }
  /** Scores standardised per layer, then ranked across layers against one parameter budget. */
  | { kind: 'global' }
  /** Kept widths per layer, from a JSON file. */
  | { kind: 'file'; file: string; layers: { heads: number; intermediate: number }[] };

export interface PlanOptions {
  /** Fraction of the model's TOTAL parameters to remove, in (0, 1). */
  ratio: number;
  allocation: Allocation;
  gqa: GqaMode;
  /** Kept MLP widths are rounded to a multiple of this (1 = no rounding). */
  align: number;
  /** Layers left untouched. */
  skipLayers: number[];
}

/** What the uniform and global allocations read (a file allocation needs only `gqa` and `skipLayers`). */
export type RatioOptions = Pick<PlanOptions, 'ratio' | 'gqa' | 'align'> & { skipLayers: readonly number[] };

export interface LayerPlan {
  /** Kept query-head indices, ascending. */
  heads: number[];
  /** Kept KV-head indices, ascending. */
  kvHeads: number[];
  /** Kept neuron indices, ascending. */
  neurons: number[];
}

export function shapeOf(p: LayerPlan): LayerShape {
  return { heads: p.heads.length, kvHeads: p.kvHeads.length, intermediate: p.neurons.length };
}
