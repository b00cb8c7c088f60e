/** Numeric comparisons shared by conformance tests. */

/** Largest |a - b| over the real (non-padding) positions of a [B, T, V] pair. */
export function maxDiffOnRealTokens(a: Float32Array, b: Float32Array, mask: number[][], vocab: number): number {
  const T = mask[0].length;
  let max = 0;
  mask.forEach((row, bi) =>
    row.forEach((m, t) => {
      if (!m) return;
      const off = (bi * T + t) * vocab;
      for (let v = 0; v < vocab; v++) max = Math.max(max, Math.abs(a[off + v] - b[off + v]));
    }),
  );
  return max;
}

/** max |a − b| / max |b|: a tensor's error relative to its own scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
