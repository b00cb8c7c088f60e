/** Number formats shared by tables and chart labels. Plain string operations only, so output does not depend on locale. */

/** Metric values as the eval command prints them: four decimals, exponent form when huge. */
export function formatMetric(value: number): string {
  return Math.abs(value) >= 1e7 ? value.toExponential(4) : value.toFixed(4);
}

/** Whole numbers with thousands separators: 232,896. */
export function formatCount(value: number): string {
  const sign = value < 0 ? '-' : '';
  return sign + Math.round(Math.abs(value)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function formatSigned(text: string, value: number): string {
  return value > 0 ? `+${text}` : text.replace(/^-/, '\u2212');
}

/** Short axis labels: at most four significant digits, exponent form outside [1e-3, 1e5). */
export function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(1).replace('e+', 'e');
  return String(Number(value.toPrecision(4)));
}

/** SVG coordinates: two decimals, no trailing zeros, never "-0" (keeps output small and byte-stable). */
export function coord(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}
