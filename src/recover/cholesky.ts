/**
 * Symmetric positive-definite solves for least-squares recovery, as a blocked Cholesky whose
 * O(n³) work runs as onnxruntime float64 GEMMs; only the small diagonal blocks (nb³) are factored
 * and inverted in JavaScript. At LLaMA-7B MLP widths (n ≈ 7700) that is ~1.5e11 flops in GEMMs.
 */
import type { Gemm } from '../engine/gemm.js';

const BLOCK = 192;

export class NotPositiveDefinite extends Error {}

/** Rows [r0, r1) and columns [c0, c1) of a row-major matrix with `ld` columns. */
function block(a: Float64Array, ld: number, r0: number, r1: number, c0: number, c1: number): Float64Array {
  const w = c1 - c0;
  const out = new Float64Array((r1 - r0) * w);
  for (let r = r0; r < r1; r++) out.set(a.subarray(r * ld + c0, r * ld + c1), (r - r0) * w);
  return out;
}

function putBlock(a: Float64Array, ld: number, r0: number, c0: number, b: Float64Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) a.set(b.subarray(r * cols, (r + 1) * cols), (r0 + r) * ld + c0);
}

function subtractInPlace(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] -= b[i];
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** In-place lower Cholesky of a small dense block; returns its lower-triangular inverse. */
function factorDiagonal(a: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) throw new NotPositiveDefinite(`pivot ${j} is ${d}`);
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) a[j * n + k] = 0;
  }
  const inv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    inv[j * n + j] = 1 / a[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += a[i * n + k] * inv[k * n + j];
      inv[i * n + j] = -s / a[i * n + i];
    }
  }
  return inv;
}

/**
 * Rows of the trailing update computed per GEMM: bounds its output to UPDATE_ROWS × n float64
 * (63 MB at n = 7700) where one product would be n² (475 MB).
 */
const UPDATE_ROWS = 1024;

export interface SolveOptions {
  /** Factor `a` in place, destroying it (the caller gives it up): saves a copy of n² float64. */
  overwrite?: boolean;
}

/**
 * Solve A·Z = B for Z, A [n, n] symmetric positive definite (read, not modified, unless
 * `overwrite`), B [n, m]. Throws NotPositiveDefinite when a pivot is not positive.
 */
export async function solveSpd(gemm: Gemm, aIn: Float64Array, n: number, b: Float64Array, m: number, options: SolveOptions = {}): Promise<Float64Array> {
  const a = options.overwrite ? aIn : Float64Array.from(aIn);
  const inverses: Float64Array[] = [];
  const starts: number[] = [];
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const kb = Math.min(BLOCK, n - k0);
    const diag = block(a, n, k0, k0 + kb, k0, k0 + kb);
    const inv = factorDiagonal(diag, kb);
    putBlock(a, n, k0, k0, diag, kb, kb);
    inverses.push(inv);
    starts.push(k0);
    const r = n - k0 - kb;
    if (r === 0) continue;
    // panel: L21 = A21 · L11⁻ᵀ; trailing update: A22 −= L21 · L21ᵀ, lower triangle only (all the
    // factorisation reads), in row chunks: chunk rows [i0, i1) need columns [0, i1)
    const l21 = await gemm.matmul('float64', block(a, n, k0 + kb, n, k0, k0 + kb), r, kb, inv, kb, true);
    putBlock(a, n, k0 + kb, k0, l21, r, kb);
    for (let i0 = 0; i0 < r; i0 += UPDATE_ROWS) {
      const i1 = Math.min(r, i0 + UPDATE_ROWS);
      const update = await gemm.matmul('float64', l21.subarray(i0 * kb, i1 * kb), i1 - i0, kb, l21.subarray(0, i1 * kb), i1, true);
      for (let i = i0; i < i1; i++) {
        const row = (k0 + kb + i) * n + k0 + kb;
        const from = (i - i0) * i1;
        for (let j = 0; j <= i; j++) a[row + j] -= update[from + j];
      }
    }
  }

  // forward: L·Y = B, block row by block row
  const y = new Float64Array(n * m);
  for (let bi = 0; bi < starts.length; bi++) {
    const k0 = starts[bi];
    const kb = Math.min(BLOCK, n - k0);
    const rhs = b.slice(k0 * m, (k0 + kb) * m);
    if (k0 > 0) {
      const done = await gemm.matmul('float64', block(a, n, k0, k0 + kb, 0, k0), kb, k0, y.subarray(0, k0 * m), m);
      subtractInPlace(rhs, done);
    }
    y.set(await gemm.matmul('float64', inverses[bi], kb, kb, rhs, m), k0 * m);
  }
  // backward: Lᵀ·Z = Y, last block row first
  const z = new Float64Array(n * m);
  for (let bi = starts.length - 1; bi >= 0; bi--) {
    const k0 = starts[bi];
    const kb = Math.min(BLOCK, n - k0);
    const below = n - k0 - kb;
    const rhs = y.slice(k0 * m, (k0 + kb) * m);
    if (below > 0) {
      const lt = transpose(block(a, n, k0 + kb, n, k0, k0 + kb), below, kb); // [kb, below]
      const done = await gemm.matmul('float64', lt, kb, below, z.subarray((k0 + kb) * m), m);
      subtractInPlace(rhs, done);
    }
    z.set(await gemm.matmul('float64', transpose(inverses[bi], kb, kb), kb, kb, rhs, m), k0 * m);
  }
  return z;
}
