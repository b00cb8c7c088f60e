/** The two roundings the plan applies: Python's `round` (the paper's) and kernel-friendly alignment. */

/**
 * Python 3's round(x): to the nearest integer, exact halves to the even one. The AMP reference
 * rounds this way, so its head and neuron counts are reproduced only with this rule.
 */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  // Exact for doubles: subtracting the integer part loses no bits.
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * A kept width rounded to the nearest multiple of `align` (ties keep more), at least `align` and
 * at most `full`. `align` 1 leaves the width as it is.
 */
export function alignKept(kept: number, full: number, align: number): number {
  if (align <= 1) return kept;
  const nearest = Math.floor(kept / align + 0.5) * align;
  return Math.min(full, Math.max(align, nearest));
}
