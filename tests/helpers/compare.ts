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
