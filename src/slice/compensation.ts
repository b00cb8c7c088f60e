/**
 * FLAP's bias compensation: a removed input channel j of an output projection is replaced by its
 * calibration mean, i.e. its average contribution W[:, j]·E[x_j] moves into the bias. Keeps the
 * layer's output unbiased in expectation after pruning.
 */

/** Σ_{j removed} W[:, j] · mean[j] for W [out, in]; returned as float64 [out]. */
export function biasCompensation(weight: Float32Array, inFeatures: number, removed: readonly number[], mean: Float64Array): Float64Array {
  const out = new Float64Array(weight.length / inFeatures);
  for (let i = 0; i < out.length; i++) {
    const row = i * inFeatures;
    let s = 0;
    for (const j of removed) s += weight[row + j] * mean[j];
    out[i] = s;
  }
  return out;
}
