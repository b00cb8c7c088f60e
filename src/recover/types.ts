/**
 * The common shape of every training-free recovery method: after a layer is pruned, rewrite the
 * projection that consumes the pruned dimension (o_proj consumes heads, down_proj consumes
 * neurons) from calibration statistics of its input, so it reproduces the dense output.
 */
import type { Gemm } from '../engine/gemm.js';
import type { CrossStats } from './cross.js';
import type { GramStats } from './gram.js';

/** One projection to repair; weights in Hugging Face layout W [out, in] (math: y = x Wᵀ + b). */
export interface ProjectionProblem {
  weight: Float32Array;
  outFeatures: number;
  inFeatures: number;
  /** The dense bias, when the dense model has one. */
  bias?: Float32Array;
  /** Kept input columns, ascending. */
  kept: readonly number[];
  /** Can the output checkpoint store a bias for this projection (its config declares one)? */
  biasWritable: boolean;
  /** Statistics of the projection's input on the fitting tokens. */
  fit: GramStats;
  /** The caller gives `fit` up: the method may free its Gram matrix once it has what it needs (releaseGram). */
  fitDisposable?: boolean;
  /** Ridge strength relative to the mean diagonal of the kept Gram block. */
  damp: number;
  /** Refit to the dense model's own input at this point (cross moments with `fit`'s inputs)
   *  instead of to the dense projection on the same input (recover/cross.ts). */
  target?: CrossStats;
}

export interface ProjectionRepair {
  /** [out, |kept|] */
  weight: Float32Array;
  /** [out], present when the output stores a bias. */
  bias?: Float32Array;
}

export interface RecoveryMethod {
  name: string;
  description: string;
  /** Does it need the full Gram matrix (else only Σx and the token count)? */
  needsGram: boolean;
  /** Tensors it changes beyond slicing (what amp_prune.json and the summary report). */
  rewrites: readonly string[];
  repair(problem: ProjectionProblem, gemm: Gemm): Promise<ProjectionRepair>;
}
