/**
 * AdamW (Loshchilov & Hutter: weight decay decoupled from the gradient), step for step as
 * torch.optim.AdamW computes it, plus global-norm gradient clipping as
 * torch.nn.utils.clip_grad_norm_ does. Moments are float32 like torch's, so runs match it.
 */

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** The optimizer's state: what a resumable checkpoint must keep. */
export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class AdamW {
  readonly state: AdamWState;

  constructor(
    private readonly params: readonly Float32Array[],
    private readonly opts: AdamWOptions,
    state?: AdamWState,
  ) {
    this.state = state ?? { step: 0, m: params.map((p) => new Float32Array(p.length)), v: params.map((p) => new Float32Array(p.length)) };
  }

  /** One update of every parameter in place, at learning rate `lr`. */
  step(grads: readonly Float32Array[], lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const t = ++this.state.step;
    const bc1 = 1 - beta1 ** t;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    const stepSize = lr / bc1;
    const decay = 1 - lr * weightDecay;
    this.params.forEach((p, i) => {
      const g = grads[i];
      const m = this.state.m[i];
      const v = this.state.v[i];
      for (let j = 0; j < p.length; j++) {
        m[j] = beta1 * m[j] + (1 - beta1) * g[j];
        v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j];
        p[j] = p[j] * decay - (stepSize * m[j]) / (Math.sqrt(v[j]) / bc2Sqrt + eps);
      }
    });
  }
}

/** Scales `grads` in place so their global L2 norm is at most `maxNorm`; returns the norm before. */
export function clipGradNorm(grads: readonly Float32Array[], maxNorm: number): number {
  let sq = 0;
  for (const g of grads) for (let j = 0; j < g.length; j++) sq += g[j] * g[j];
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) for (let j = 0; j < g.length; j++) g[j] *= coef;
  return norm;
}
