/** Kept input columns of a projection weight [out, in], and the dense bias carried over. */
import type { ProjectionProblem, ProjectionRepair } from './types.js';

export function keptColumns(p: ProjectionProblem): Float32Array {
  const k = p.kept.length;
  const out = new Float32Array(p.outFeatures * k);
  for (let r = 0; r < p.outFeatures; r++) {
    const row = r * p.inFeatures;
    for (let c = 0; c < k; c++) out[r * k + c] = p.weight[row + p.kept[c]];
  }
  return out;
}

/** The dense bias, or zeros where the output declares a bias the dense model lacked. */
export function carriedBias(p: ProjectionProblem): Float32Array | undefined {
  if (p.bias) return Float32Array.from(p.bias);
  return p.biasWritable ? new Float32Array(p.outFeatures) : undefined;
}

/** Plain slicing: what pruning without recovery writes. */
export function sliced(p: ProjectionProblem): ProjectionRepair {
  return { weight: keptColumns(p), bias: carriedBias(p) };
}

export function removedColumns(p: ProjectionProblem): number[] {
  const keep = new Set(p.kept);
  return Array.from({ length: p.inFeatures }, (_, i) => i).filter((i) => !keep.has(i));
}
