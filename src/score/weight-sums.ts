/**
 * Per-structure reductions over weights in transformers' [out, in] layout: sums over row blocks
 * (a head's q/k/v rows, a neuron's gate/up row) and over columns (a head's o_proj columns, a
 * neuron's down_proj column). One linear pass each; no matrix products.
 */

/** Σ f(w) over each block of `blockRows` consecutive rows of W [rows, cols]. */
export function rowBlockSums(w: Float32Array, cols: number, blockRows: number, f: (x: number) => number): Float64Array {
  const blocks = w.length / cols / blockRows;
  const out = new Float64Array(blocks);
  const perBlock = blockRows * cols;
  for (let b = 0; b < blocks; b++) {
    let s = 0;
    for (let i = b * perBlock, end = i + perBlock; i < end; i++) s += f(w[i]);
    out[b] = s;
  }
  return out;
}

/** Σ_i f(W[i, j]) for every column j of W [rows, cols]. */
export function columnSums(w: Float32Array, cols: number, f: (x: number) => number): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < w.length; i += cols) for (let j = 0; j < cols; j++) out[j] += f(w[i + j]);
  return out;
}

/** Sum consecutive blocks of `size` entries: per-column values -> per-head values. */
export function blockSums(values: Float64Array, size: number): Float64Array {
  const out = new Float64Array(values.length / size);
  values.forEach((v, i) => (out[Math.floor(i / size)] += v));
  return out;
}

export const abs = (x: number) => Math.abs(x);
export const square = (x: number) => x * x;
