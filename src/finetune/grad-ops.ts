/**
 * Forward pieces that keep the intermediates their backward needs, and the backward (vector-Jacobian
 * product) of each, as ONNX nodes. Formulas: RECOVERY.md section 2. Every backward takes the
 * gradient of the piece's output and returns the gradient of its input; frozen parameters get none.
 */
import { int, ints } from '../engine/graph.js';
import type { GraphBuilder } from '../engine/graph.js';
import type { Activation, NormKind } from '../arch/spec.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const meanLast = (g: GraphBuilder, path: string, x: string) =>
  g.op(`${path}/ReduceMean`, 'ReduceMean', [x], { axes: ints([-1]), keepdims: int(1) });

/** A normalisation's output and what its backward reads: the normalised input n and its divisor r. */
export interface NormForward {
  out: string;
  normed: string;
  divisor: string;
  weight: string;
}

/** RMSNorm (y = g·x/r, r = √(mean x² + ε)) or LayerNorm (y = g·(x−μ)/σ + b) over the last axis. */
export function normForward(g: GraphBuilder, kind: NormKind, path: string, x: string, weight: string, bias: string | undefined, eps: number): NormForward {
  const centred = kind === 'rms' ? x : g.op(`${path}/center/Sub`, 'Sub', [x, meanLast(g, `${path}/center`, x)]);
  const meanSq = meanLast(g, `${path}/var`, g.op(`${path}/var/Mul`, 'Mul', [centred, centred]));
  const divisor = g.op(`${path}/Sqrt`, 'Sqrt', [g.op(`${path}/eps/Add`, 'Add', [meanSq, g.f32(eps)])]);
  const normed = g.op(`${path}/Div`, 'Div', [centred, divisor]);
  let out = g.op(`${path}/Mul`, 'Mul', [normed, weight]);
  if (bias) out = g.op(`${path}/bias/Add`, 'Add', [out, bias]);
  return { out, normed, divisor, weight };
}

/**
 * With dn = g ⊙ dy:
 *   RMSNorm:   dx = (dn − n·mean(n ⊙ dn)) / r
 *   LayerNorm: dx = (dn − mean(dn) − n·mean(n ⊙ dn)) / σ
 */
export function normBackward(g: GraphBuilder, kind: NormKind, path: string, f: NormForward, dy: string): string {
  const dn = g.op(`${path}/dn/Mul`, 'Mul', [dy, f.weight]);
  const proj = g.op(`${path}/proj/Mul`, 'Mul', [f.normed, meanLast(g, `${path}/proj`, g.op(`${path}/proj/dot/Mul`, 'Mul', [f.normed, dn]))]);
  let inner = g.op(`${path}/Sub`, 'Sub', [dn, proj]);
  if (kind === 'layernorm') inner = g.op(`${path}/center/Sub`, 'Sub', [inner, meanLast(g, `${path}/center`, dn)]);
  return g.op(`${path}/Div`, 'Div', [inner, f.divisor]);
}

/** A LoRA adapter on one projection, as graph values: A [r, in], B [out, r], and the scale α/r. */
export interface LoraValues {
  a: string;
  b: string;
  scale: number;
  /** LoRA dropout's M [N, in] (keep-mask / (1 − p)); absent: no dropout, the weight is merged. */
  mask?: string;
}

/** The adapter branch s·((x ⊙ M)·Aᵀ)·Bᵀ [N, out] of a LoRA with a dropout mask M. */
export function loraBranch(g: GraphBuilder, path: string, x: string, lora: LoraValues & { mask: string }): string {
  const dropped = g.op(`${path}/dropout/Mul`, 'Mul', [x, lora.mask]);
  const down = g.op(`${path}/xA/Gemm`, 'Gemm', [dropped, lora.a], { transB: int(1) });
  return g.op(`${path}/up/Gemm`, 'Gemm', [down, lora.b], { transB: int(1), alpha: { kind: 'float', value: lora.scale } });
}

export interface LinearBackward {
  dx: string;
  dA?: string;
  dB?: string;
}

/** One output block of a projection: its weight rows and the gradient of its output. */
export interface LinearPart {
  weight: string;
  dy: string;
}

/**
 * y = x·W'ᵀ (+ bias) where W' = W + s·B·A is the merged weight the forward ran with:
 *   dx = dy·W'  (this is dy·W + s·(dy·B)·A)
 *   dB = s·dyᵀ·(x·Aᵀ);   dA = s·(dy·B)ᵀ·x
 * With a dropout mask M the adapter reads x̃ = x ⊙ M and `weight` is the unmerged W:
 *   dx = dy·W + s·((dy·B)·A) ⊙ M;   dB = s·dyᵀ·(x̃·Aᵀ);   dA = s·(dy·B)ᵀ·x̃
 * A fused module comes as several parts (row blocks of W and of y): dy is their gradients side by
 * side, and dy·W the sum of each part's.
 */
export function linearBackward(g: GraphBuilder, path: string, x: string, parts: readonly LinearPart[], lora?: LoraValues): LinearBackward {
  const directs = parts.map((p, i) => g.op(parts.length === 1 ? `${path}/dx/MatMul` : `${path}/dx/MatMul_${i}`, 'MatMul', [p.dy, p.weight]));
  const direct = directs.reduce((sum, d, i) => (i === 0 ? d : g.op(`${path}/dx/parts/Add_${i}`, 'Add', [sum, d])));
  if (!lora) return { dx: direct };
  const dy = parts.length === 1 ? parts[0].dy : g.op(`${path}/dy/Concat`, 'Concat', parts.map((p) => p.dy), { axis: int(1) });
  const xLora = lora.mask ? g.op(`${path}/lora/dropout/Mul`, 'Mul', [x, lora.mask]) : x;
  const down = g.op(`${path}/lora/xA/Gemm`, 'Gemm', [xLora, lora.a], { transB: int(1) }); // [N, r]
  const dDown = g.op(`${path}/lora/dyB/MatMul`, 'MatMul', [dy, lora.b]); // [N, r]
  const dB = g.op(`${path}/lora/dB/Gemm`, 'Gemm', [dy, down], { transA: int(1), alpha: { kind: 'float', value: lora.scale } });
  const dA = g.op(`${path}/lora/dA/Gemm`, 'Gemm', [dDown, xLora], { transA: int(1), alpha: { kind: 'float', value: lora.scale } });
  if (!lora.mask) return { dx: direct, dA, dB };
  const dxLora = g.op(`${path}/lora/dx/Mul`, 'Mul', [g.op(`${path}/lora/dx/MatMul`, 'MatMul', [dDown, lora.a]), lora.mask]);
  const dx = g.op(`${path}/dx/Add`, 'Add', [direct, g.op(`${path}/lora/dx/scale/Mul`, 'Mul', [dxLora, g.f32(lora.scale)])]);
  return { dx, dA, dB };
}

/** d act(x)/dx as a graph value, for the activations transformers' ACT2FN names. */
export function activationDerivative(g: GraphBuilder, kind: Activation, path: string, x: string): string {
  switch (kind) {
    case 'silu': {
      // σ(x)·(1 + x·(1 − σ(x)))
      const s = g.op(`${path}/Sigmoid`, 'Sigmoid', [x]);
      const oneMinus = g.op(`${path}/Sub`, 'Sub', [g.f32(1), s]);
      const inner = g.op(`${path}/Add`, 'Add', [g.f32(1), g.op(`${path}/Mul`, 'Mul', [x, oneMinus])]);
      return g.op(`${path}/Mul_1`, 'Mul', [s, inner]);
    }
    case 'relu':
      return g.op(`${path}/Cast`, 'Cast', [g.op(`${path}/Greater`, 'Greater', [x, g.f32(0)])], { to: int(1) });
    case 'gelu': {
      // Φ(x) + x·φ(x)
      const cdf = g.op(`${path}/cdf/Mul`, 'Mul', [g.f32(0.5), g.op(`${path}/cdf/Add`, 'Add', [g.f32(1), g.op(`${path}/Erf`, 'Erf', [g.op(`${path}/Div`, 'Div', [x, g.f32(Math.SQRT2)])])])]);
      const sq = g.op(`${path}/sq/Mul`, 'Mul', [x, x]);
      const pdf = g.op(`${path}/pdf/Mul`, 'Mul', [g.op(`${path}/Exp`, 'Exp', [g.op(`${path}/pdf/Mul_1`, 'Mul', [sq, g.f32(-0.5)])]), g.f32(1 / Math.sqrt(2 * Math.PI))]);
      return g.op(`${path}/Add`, 'Add', [cdf, g.op(`${path}/Mul`, 'Mul', [x, pdf])]);
    }
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast': {
      // t = tanh(c·(x + 0.044715x³)):  0.5·(1 + t) + 0.5·x·(1 − t²)·c·(1 + 3·0.044715·x²)
      const sq = g.op(`${path}/sq/Mul`, 'Mul', [x, x]);
      const cube = g.op(`${path}/cube/Mul`, 'Mul', [sq, x]);
      const inner = g.op(`${path}/inner/Mul`, 'Mul', [g.op(`${path}/inner/Add`, 'Add', [x, g.op(`${path}/inner/Mul_1`, 'Mul', [cube, g.f32(0.044715)])]), g.f32(SQRT_2_OVER_PI)]);
      const t = g.op(`${path}/Tanh`, 'Tanh', [inner]);
      const first = g.op(`${path}/first/Mul`, 'Mul', [g.f32(0.5), g.op(`${path}/first/Add`, 'Add', [g.f32(1), t])]);
      const sech2 = g.op(`${path}/sech2/Sub`, 'Sub', [g.f32(1), g.op(`${path}/sech2/Mul`, 'Mul', [t, t])]);
      const dInner = g.op(`${path}/dinner/Mul`, 'Mul', [g.f32(SQRT_2_OVER_PI), g.op(`${path}/dinner/Add`, 'Add', [g.f32(1), g.op(`${path}/dinner/Mul_1`, 'Mul', [sq, g.f32(3 * 0.044715)])])]);
      const second = g.op(`${path}/second/Mul`, 'Mul', [g.op(`${path}/second/Mul_1`, 'Mul', [g.op(`${path}/second/Mul_2`, 'Mul', [g.f32(0.5), x]), sech2]), dInner]);
      return g.op(`${path}/Add`, 'Add', [first, second]);
    }
  }
}

/** Softmax over the last axis: dz = p ⊙ (dp − Σ dp ⊙ p). Masked entries (p = 0) get zero. */
export function softmaxBackward(g: GraphBuilder, path: string, probs: string, dProbs: string): string {
  const dot = g.op(`${path}/ReduceSum`, 'ReduceSum', [g.op(`${path}/dot/Mul`, 'Mul', [dProbs, probs]), g.i64([-1])], { keepdims: int(1) });
  return g.op(`${path}/Mul`, 'Mul', [probs, g.op(`${path}/Sub`, 'Sub', [dProbs, dot])]);
}
