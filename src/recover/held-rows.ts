/**
 * The held-out tokens' inputs to one projection, kept as rows rather than as a Gram matrix: each
 * real token's input scaled by √w_t, with √w_t appended as the bias input's column, X̃ [T, F+1].
 * ‖X̃ Δᵀ‖² is then Σ_t w_t ‖Δ x̃_t‖², the held-out error's numerator, at T·(F+1)·out FLOPs, where
 * the Gram form tr(Δ G̃ Δᵀ) costs (F+1)²·out and an F × F float64 matrix: at LLaMA-7B's MLP width
 * (11008) 970 MB and ~1e12 FLOPs per evaluation, against 35 MB and 7e10 for 800 held-out tokens.
 */
import type { OutputTensor } from '../engine/session.js';

export interface HeldRows {
  features: number;
  /** Real tokens kept (padding, whose weight is 0, is dropped). */
  tokens: number;
  /** [tokens, features + 1] row-major. */
  data: Float32Array;
}

export class HeldRowsBuilder {
  private readonly parts: Float32Array[] = [];
  private tokens = 0;

  constructor(readonly features: number) {}

  /** One batch's tap outputs: rows x_t·√w_t [N, F] and √w_t [N, 1]. */
  add(rows: OutputTensor, root: OutputTensor): void {
    const F = this.features;
    if (rows.data.length !== root.data.length * F) throw new Error(`held-out rows: ${rows.data.length} values for ${root.data.length} tokens of ${F}`);
    const real = root.data.reduce((n, w) => n + (w > 0 ? 1 : 0), 0);
    const part = new Float32Array(real * (F + 1));
    let r = 0;
    for (let t = 0; t < root.data.length; t++) {
      if (!(root.data[t] > 0)) continue;
      part.set(rows.data.subarray(t * F, (t + 1) * F), r * (F + 1));
      part[r * (F + 1) + F] = root.data[t];
      r++;
    }
    this.parts.push(part);
    this.tokens += real;
  }

  get empty(): boolean {
    return this.tokens === 0;
  }

  build(): HeldRows {
    const data = new Float32Array(this.tokens * (this.features + 1));
    let at = 0;
    for (const part of this.parts) {
      data.set(part, at);
      at += part.length;
    }
    this.parts.length = 0;
    return { features: this.features, tokens: this.tokens, data };
  }
}

/** Rows of explicit inputs x [T, F], every token weighing 1 (tests, benches). */
export function heldRowsOf(x: Float32Array, tokens: number, features: number): HeldRows {
  const builder = new HeldRowsBuilder(features);
  builder.add({ data: x, dims: [tokens, features] }, { data: new Float32Array(tokens).fill(1), dims: [tokens, 1] });
  return builder.build();
}
