/** Colours: a colour-blind-safe palette for runs and a perceptually even scale for heatmaps. */

/** Okabe–Ito: distinguishable under the common colour-vision deficiencies, legible on white. */
const SERIES_PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#999999', '#000000'] as const;

export function seriesColor(index: number): string {
  return SERIES_PALETTE[index % SERIES_PALETTE.length];
}

/** Viridis, sampled at nine even stops; dark = low, yellow = high, readable in greyscale too. */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

const hex = (channel: number) => Math.round(channel).toString(16).padStart(2, '0');

/** Colour for t in [0, 1] (clamped), linearly interpolated between the viridis stops. */
export function heatColor(t: number): string {
  const clamped = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const position = clamped * (VIRIDIS.length - 1);
  const lower = Math.min(Math.floor(position), VIRIDIS.length - 2);
  const weight = position - lower;
  const [a, b] = [VIRIDIS[lower], VIRIDIS[lower + 1]];
  return `#${[0, 1, 2].map((c) => hex(a[c] + (b[c] - a[c]) * weight)).join('')}`;
}

/** A cell with no score (the layer's record has none). */
export const NO_SCORE_COLOR = '#d9d9d9';
