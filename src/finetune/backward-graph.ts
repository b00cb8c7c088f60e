/**
 * One decoder layer's backward pass as an ONNX graph. It recomputes the layer's forward from the
 * saved input (so training keeps only each layer's input, plus one layer's activations at a time),
 * then walks back: given dL/d(output) it returns dL/d(input) and dL/dA, dL/dB of every LoRA adapter.
 *
 * Without LoRA dropout the frozen weights enter as graph inputs already merged with their adapters
 * (W' = W + s·B·A, what the forward ran with), and A, B as extra inputs for their own gradients.
 * With dropout (peft's lora_dropout: the adapter branch reads x ⊙ M, M = keep-mask / (1 − p)) the
 * weights enter unmerged and each adapted module takes its mask M [N, in] as `lora_mask.*`;
 * the same forward with the layer's output instead of the backward is buildLayerDropoutForwardGraph,
 * what training's forward runs then (the engine's layer graph knows no adapters). Layout mirrors
 * src/engine/layer.ts: hidden states as [N = B·T, d], attention as [B, kv_heads, group, T, head_dim].
 * Adapters are per checkpoint module (lora.ts): a fused one's parts (Phi-3's q, k, v) share its A
 * and own its B's row blocks, so their backward runs together.
 *
 *   hidden, grad_out, attn_bias, cos, sin, weights, lora_a.*, lora_b.* (, lora_mask.*)
 *     ─▶ grad_hidden, grad_a.*, grad_b.*
 */
import type { ArchSpec, LayerWeightName } from '../arch/spec.js';
import { ElemType, GraphBuilder, int, ints } from '../engine/graph.js';
import { VERSION } from '../engine/model.js';
import { activation } from '../engine/ops/activation.js';
import { applyRope } from '../engine/ops/rope.js';
import { linear } from '../engine/ops/linear.js';
import { activationDerivative, linearBackward, loraBranch, normBackward, normForward, softmaxBackward } from './grad-ops.js';
import type { LinearBackward, LoraValues } from './grad-ops.js';
import { adapterId } from './lora.js';
import type { AdapterLayout } from './lora.js';

/** Graph names of an adapter's inputs and gradients, by adapterId (`q`, `q+k+v`). */
export const loraInputName = (which: 'a' | 'b', adapter: AdapterLayout): string => `lora_${which}.${adapterId(adapter)}`;
export const loraGradName = (which: 'a' | 'b', adapter: AdapterLayout): string => `grad_${which}.${adapterId(adapter)}`;
export const loraMaskName = (adapter: AdapterLayout): string => `lora_mask.${adapterId(adapter)}`;

/** An adapter as graph values, with where it sits. */
interface AdapterValues {
  layout: AdapterLayout;
  values: LoraValues;
}

export interface BackwardGraphOptions {
  /** Adapted modules of this layer. */
  adapted: readonly AdapterLayout[];
  rank: number;
  scale: number;
  /** LoRA dropout: weights unmerged, one `lora_mask.*` input per adapted module (a fused one reads one mask, as in peft). */
  dropout?: boolean;
}

/**
 * The layer's forward with every intermediate its backward reads, plus the helpers both share.
 * `grad_out` is declared by the backward only, so the forward-only graph has no unused input.
 */
function emitTrainingForward(g: GraphBuilder, spec: ArchSpec, layer: number, opts: BackwardGraphOptions) {
  const shape = spec.layers[layer];
  const { heads, kvHeads } = shape;
  const d = spec.hidden;
  const dh = spec.headDim;
  const group = heads / kvHeads;
  const half = spec.rope.rotaryDim / 2;

  const hiddenIn = g.input('hidden', ElemType.FLOAT, ['batch', 'seq', d]);
  const attnBias = g.input('attn_bias', ElemType.FLOAT, ['batch', 1, 1, 'seq', 'seq']);
  const cos = g.input('cos', ElemType.FLOAT, ['batch', 1, 'seq', half]);
  const sin = g.input('sin', ElemType.FLOAT, ['batch', 1, 'seq', half]);
  const weights = new Map(spec.layerWeights(layer).map((w) => [w.name, g.input(w.name, ElemType.FLOAT, w.shape)]));
  /** Each adapted logical weight's adapter (the parts of a fused module share one). */
  const lora = new Map<LayerWeightName, AdapterValues>();
  for (const layout of opts.adapted) {
    const values = {
      a: g.input(loraInputName('a', layout), ElemType.FLOAT, [opts.rank, layout.inFeatures]),
      b: g.input(loraInputName('b', layout), ElemType.FLOAT, [layout.outFeatures, opts.rank]),
      scale: opts.scale,
      mask: opts.dropout ? g.input(loraMaskName(layout), ElemType.FLOAT, ['tokens', layout.inFeatures]) : undefined,
    };
    for (const part of layout.parts) lora.set(part.weight, { layout, values });
  }
  const need = (n: LayerWeightName): string => {
    const w = weights.get(n);
    if (!w) throw new Error(`layer ${layer}: missing weight ${n}`);
    return w;
  };
  // Under dropout a fused module's branch is computed once, for all its parts (they read one input).
  const branches = new Map<AdapterLayout, { x: string; branch: string }>();
  /** Projection `name` (q, k, ...): merged weights need no adapter nodes; under dropout, W·x + its rows of the branch. */
  const proj = (name: string, x: string) => {
    const weight = `${name}.weight` as LayerWeightName;
    const base = linear(g, `/fwd/${name}_proj`, x, need(weight), weights.get(`${name}.bias` as LayerWeightName));
    const ad = lora.get(weight);
    const mask = ad?.values.mask;
    if (!ad || !mask) return base;
    let shared = branches.get(ad.layout);
    if (!shared) {
      shared = { x, branch: loraBranch(g, `/fwd/${adapterId(ad.layout)}_proj/lora`, x, { ...ad.values, mask }) };
      branches.set(ad.layout, shared);
    }
    if (shared.x !== x) throw new Error(`layer ${layer}: the parts of ${adapterId(ad.layout)} read different inputs`);
    const { rows } = ad.layout.parts.find((p) => p.weight === weight)!;
    const mine = ad.layout.parts.length === 1 ? shared.branch : g.op(`/fwd/${name}_proj/lora/Slice`, 'Slice', [shared.branch, g.i64([rows[0]]), g.i64([rows[1]]), g.i64([1])]);
    return g.op(`/fwd/${name}_proj/lora/Add`, 'Add', [base, mine]);
  };
  const normFwd = (prefix: 'attn_norm' | 'mlp_norm' | 'q_norm' | 'k_norm', x: string, kind = spec.norm.kind) =>
    normForward(g, kind, `/fwd/${prefix}`, x, need(`${prefix}.weight`), weights.get(`${prefix}.bias`), spec.norm.eps);

  const shapeOf = g.op('/shape/Shape', 'Shape', [hiddenIn]);
  const batchSeq = g.op('/shape/Slice', 'Slice', [shapeOf, g.i64([0]), g.i64([2])]);
  const x = g.op('/flatten/Reshape', 'Reshape', [hiddenIn, g.i64([-1, d])]);

  // [N, n·dh] <-> [B, n, T, dh]
  const toHeads = (path: string, v: string, n: number) => {
    const target = g.op(`${path}/shape/Concat`, 'Concat', [batchSeq, g.i64([n, dh])], { axis: int(0) });
    return g.op(`${path}/Transpose`, 'Transpose', [g.op(`${path}/Reshape`, 'Reshape', [v, target])], { perm: ints([0, 2, 1, 3]) });
  };
  const fromHeads = (path: string, v: string, n: number) =>
    g.op(`${path}/Reshape`, 'Reshape', [g.op(`${path}/Transpose`, 'Transpose', [v], { perm: ints([0, 2, 1, 3]) }), g.i64([-1, n * dh])]);
  const swapLast = (path: string, v: string) => g.op(`${path}/Transpose`, 'Transpose', [v], { perm: ints([0, 1, 2, 4, 3]) });

  // ---- forward, keeping what the backward reads
  const attnNorm = normFwd('attn_norm', x);
  const h = attnNorm.out;
  let q = toHeads('/fwd/q', proj('q', h), heads);
  let k = toHeads('/fwd/k', proj('k', h), kvHeads);
  const v = toHeads('/fwd/v', proj('v', h), kvHeads);
  const qNorm = spec.qkNorm ? normFwd('q_norm', q, spec.qkNorm) : undefined;
  const kNorm = spec.qkNorm ? normFwd('k_norm', k, spec.qkNorm) : undefined;
  if (qNorm && kNorm) {
    q = qNorm.out;
    k = kNorm.out;
  }
  const qr = applyRope(g, '/fwd/q_rope', q, cos, sin, spec.rope.rotaryDim, dh);
  const kr = applyRope(g, '/fwd/k_rope', k, cos, sin, spec.rope.rotaryDim, dh);
  const q5 = g.op('/fwd/q/group/Reshape', 'Reshape', [qr, g.i64([0, kvHeads, group, -1, dh])]); // [B, kv, G, T, dh]
  const k5 = g.op('/fwd/k/group/Unsqueeze', 'Unsqueeze', [kr, g.i64([2])]); // [B, kv, 1, T, dh]
  const v5 = g.op('/fwd/v/group/Unsqueeze', 'Unsqueeze', [v, g.i64([2])]);
  const attnScale = 1 / Math.sqrt(dh);
  const scores = g.op('/fwd/scores/Mul', 'Mul', [g.op('/fwd/scores/MatMul', 'MatMul', [q5, swapLast('/fwd/k/group', k5)]), g.f32(attnScale)]);
  const probs = g.op('/fwd/Softmax', 'Softmax', [g.op('/fwd/scores/Add', 'Add', [scores, attnBias])], { axis: int(-1) });
  const ctx5 = g.op('/fwd/context/MatMul', 'MatMul', [probs, v5]);
  const oIn = fromHeads('/fwd/context', g.op('/fwd/context/heads/Reshape', 'Reshape', [ctx5, g.i64([0, heads, -1, dh])]), heads);
  const attnOut = proj('o', oIn);
  const mlpNorm = spec.parallelResidual ? undefined : normFwd('mlp_norm', g.op('/fwd/attn/residual/Add', 'Add', [x, attnOut]));
  const mlpIn = mlpNorm ? mlpNorm.out : h;
  let gate: string | undefined;
  let up: string;
  let act: string;
  let mlpHidden: string;
  if (spec.gatedMlp) {
    gate = proj('gate', mlpIn);
    up = proj('up', mlpIn);
    act = activation(g, spec.activation, '/fwd/act', gate);
    mlpHidden = g.op('/fwd/gated/Mul', 'Mul', [act, up]);
  } else {
    up = proj('up', mlpIn);
    act = activation(g, spec.activation, '/fwd/act', up);
    mlpHidden = act;
  }
  return {
    d, heads, kvHeads, group, dh, hiddenIn, shapeOf, x, attnBias, cos, sin, weights, lora, need, proj, toHeads, fromHeads, swapLast,
    attnNorm, h, qNorm, kNorm, q5, k5, v5, attnScale, probs, oIn, attnOut, mlpNorm, mlpIn, gate, up, act, mlpHidden,
  };
}

/** The layer's output under LoRA dropout: hidden, attn_bias, cos, sin, weights, lora_* ─▶ hidden_out. */
export function buildLayerDropoutForwardGraph(spec: ArchSpec, layer: number, opts: BackwardGraphOptions): Uint8Array {
  const shape = spec.layers[layer];
  const g = new GraphBuilder(`amp-prune-layer-dropout-forward-${shape.heads}h-${shape.kvHeads}kv-${shape.intermediate}i`);
  const f = emitTrainingForward(g, spec, layer, { ...opts, dropout: true });
  const mlpOut = f.proj('down', f.mlpHidden);
  // sequential: x + attn + mlp(norm(x + attn)); parallel: x + attn(norm x) + mlp(norm x), the same sum
  const out = g.op('/fwd/out/Add', 'Add', [g.op('/fwd/out/attn/Add', 'Add', [f.x, f.attnOut]), mlpOut]);
  g.output(g.op('/fwd/unflatten/Reshape', 'Reshape', [out, f.shapeOf]), 'hidden_out', ElemType.FLOAT, ['batch', 'seq', f.d]);
  return g.toBytes(VERSION);
}

export function buildLayerBackwardGraph(spec: ArchSpec, layer: number, opts: BackwardGraphOptions): Uint8Array {
  const shape = spec.layers[layer];
  const g = new GraphBuilder(`amp-prune-layer-backward-${shape.heads}h-${shape.kvHeads}kv-${shape.intermediate}i${opts.dropout ? '-dropout' : ''}`);
  const f = emitTrainingForward(g, spec, layer, opts);
  const { d, heads, kvHeads, group, dh, shapeOf, x, cos, sin, lora, need, toHeads, fromHeads, swapLast } = f;
  const { attnNorm, h, qNorm, kNorm, q5, k5, v5, attnScale, probs, oIn, mlpNorm, mlpIn, gate, up, act, mlpHidden } = f;
  const gradOut = g.input('grad_out', ElemType.FLOAT, ['batch', 'seq', d]);
  const grads: { layout: AdapterLayout; result: LinearBackward }[] = [];
  /**
   * Backward of the projections `dys` names (q, k, ...), all reading `xIn`: dL/d(xIn) summed over
   * them, collecting the LoRA gradients. A fused module's parts must come in one call, since its
   * adapter's gradients need every part's output gradient.
   */
  const projBack = (path: string, xIn: string, dys: Record<string, string>): string => {
    const given = new Map(Object.entries(dys).map(([name, dy]) => [`${name}.weight` as LayerWeightName, dy]));
    const done = new Set<LayerWeightName>();
    const terms: string[] = [];
    for (const weight of given.keys()) {
      if (done.has(weight)) continue;
      const ad = lora.get(weight);
      const members = ad ? ad.layout.parts.map((p) => p.weight) : [weight];
      const parts = members.map((w) => {
        const dy = given.get(w);
        if (!dy) throw new Error(`layer ${layer}: the backward of ${adapterId(ad!.layout)} needs the gradient of ${w}`);
        done.add(w);
        return { weight: need(w), dy };
      });
      const id = ad ? adapterId(ad.layout) : weight.replace(/\.weight$/, '');
      const result = linearBackward(g, `/bwd/${id}_proj`, xIn, parts, ad?.values);
      if (ad && result.dA) grads.push({ layout: ad.layout, result });
      terms.push(result.dx);
    }
    return terms.reduce((sum, t, i) => (i === 0 ? t : g.op(`${path}/Add_${i}`, 'Add', [sum, t])));
  };

  // ---- backward
  const dy = g.op('/flatten/grad/Reshape', 'Reshape', [gradOut, g.i64([-1, d])]);
  const dMlpHidden = projBack('/bwd/down', mlpHidden, { down: dy });
  let dMlpIn: string;
  if (gate) {
    const dAct = g.op('/bwd/gated/act/Mul', 'Mul', [dMlpHidden, up]);
    const dUp = g.op('/bwd/gated/up/Mul', 'Mul', [dMlpHidden, act]);
    const dGate = g.op('/bwd/act/Mul', 'Mul', [dAct, activationDerivative(g, spec.activation, '/bwd/act/deriv', gate)]);
    dMlpIn = projBack('/bwd/mlp_in', mlpIn, { gate: dGate, up: dUp });
  } else {
    const dUp = g.op('/bwd/act/Mul', 'Mul', [dMlpHidden, activationDerivative(g, spec.activation, '/bwd/act/deriv', up)]);
    dMlpIn = projBack('/bwd/mlp_in', mlpIn, { up: dUp });
  }
  // the gradient reaching the attention block's output (and, through the residual, the input)
  const dResidual = mlpNorm ? g.op('/bwd/mlp_norm/residual/Add', 'Add', [dy, normBackward(g, spec.norm.kind, '/bwd/mlp_norm', mlpNorm, dMlpIn)]) : dy;
  const dOIn = projBack('/bwd/o', oIn, { o: dResidual });

  const dCtx5 = g.op('/bwd/context/group/Reshape', 'Reshape', [toHeads('/bwd/context', dOIn, heads), g.i64([0, kvHeads, group, -1, dh])]);
  const dProbs = g.op('/bwd/probs/MatMul', 'MatMul', [dCtx5, swapLast('/bwd/v5', v5)]);
  // K and V are shared by the group's query heads: their gradients sum over the group axis
  const sumGroup = (path: string, t: string) => g.op(`${path}/ReduceSum`, 'ReduceSum', [t, g.i64([2])], { keepdims: int(0) });
  const dV = sumGroup('/bwd/v/group', g.op('/bwd/v/MatMul', 'MatMul', [swapLast('/bwd/probs', probs), dCtx5]));
  const dScores = g.op('/bwd/scores/Mul', 'Mul', [softmaxBackward(g, '/bwd/softmax', probs, dProbs), g.f32(attnScale)]);
  const dQ5 = g.op('/bwd/q/MatMul', 'MatMul', [dScores, k5]);
  const dK = sumGroup('/bwd/k/group', g.op('/bwd/k/MatMul', 'MatMul', [swapLast('/bwd/scores', dScores), q5]));
  // RoPE is a rotation: its transpose rotates by −θ
  const negSin = g.op('/bwd/rope/Neg', 'Neg', [sin]);
  let dQ = applyRope(g, '/bwd/q_rope', g.op('/bwd/q/heads/Reshape', 'Reshape', [dQ5, g.i64([0, heads, -1, dh])]), cos, negSin, spec.rope.rotaryDim, dh);
  let dKr = applyRope(g, '/bwd/k_rope', dK, cos, negSin, spec.rope.rotaryDim, dh);
  if (qNorm && kNorm) {
    dQ = normBackward(g, spec.qkNorm!, '/bwd/q_norm', qNorm, dQ);
    dKr = normBackward(g, spec.qkNorm!, '/bwd/k_norm', kNorm, dKr);
  }
  let dH = projBack('/bwd/qkv', h, { q: fromHeads('/bwd/q', dQ, heads), k: fromHeads('/bwd/k', dKr, kvHeads), v: fromHeads('/bwd/v', dV, kvHeads) });
  if (!mlpNorm) dH = g.op('/bwd/parallel/Add', 'Add', [dH, dMlpIn]);
  const dX = g.op('/bwd/residual/Add', 'Add', [dResidual, normBackward(g, spec.norm.kind, '/bwd/attn_norm', attnNorm, dH)]);

  g.output(g.op('/bwd/unflatten/Reshape', 'Reshape', [dX, shapeOf]), 'grad_hidden', ElemType.FLOAT, ['batch', 'seq', d]);
  for (const { layout, result } of grads) {
    g.output(result.dA!, loraGradName('a', layout), ElemType.FLOAT, [opts.rank, layout.inFeatures]);
    g.output(result.dB!, loraGradName('b', layout), ElemType.FLOAT, [layout.outFeatures, opts.rank]);
  }
  return g.toBytes(VERSION);
}
