/**
 * One decoder layer as ONNX nodes, shared by the per-layer graph (weights as graph inputs, one
 * session per layer shape) and the whole-model graph (weights as initializers).
 *
 * Hidden states flow as [N = B·T, d] so every projection is one Gemm; attention reads
 * [B, T, heads, head_dim] and runs through the fused or unfused kernel of attention.ts.
 */
import type { ArchSpec, LayerShape, LayerWeightName } from '../arch/spec.js';
import { attentionKernel, defaultPreference, emitCausalAttention } from './attention.js';
import type { AttentionLengths, AttentionPreference } from './attention.js';
import { int, ints } from './graph.js';
import type { GraphBuilder } from './graph.js';
import { activation } from './ops/activation.js';
import { linear } from './ops/linear.js';
import { norm } from './ops/norm.js';
import { applyRope } from './ops/rope.js';

/** Graph values every layer reads. */
export interface LayerInputs {
  /** [N, d] */
  hidden: string;
  /** int64 [2]: B, T — for reshapes between [N, ·] and [B, T, ·]. */
  batchSeq: string;
  /** Additive attention bias [B, 1, 1, T, T]: causal + padding (+ sliding window where the layer has one). */
  attnBias: string;
  /** [B, 1, T, rotary/2] */
  cos: string;
  sin: string;
  /** [B, T] float, 1 = real token, 0 = padding; required for statistics taps. */
  tokenWeight?: string;
  /** KV cache of earlier tokens, [B, kv_heads, P, head_dim] each (P may be 0); with it the
   *  layer also returns the extended cache. attnBias is then [B, 1, 1, T, P + T]. */
  past?: { key: string; value: string };
  /** The fused kernel's length inputs, computed once per graph (attentionLengths); else per layer. */
  attentionLengths?: AttentionLengths;
  /** [N, F] per projection: another stream's input to it (LayerTaps.cross). */
  cross?: Partial<Record<GramProjection, string>>;
}

/**
 * What a layer can expose besides its output.
 * - raw: the o_proj input [N, heads·head_dim] and the down_proj input [N, intermediate].
 * - stats: per-sequence sums over real tokens, the running statistics every scorer needs:
 *   headL1 [B, heads] = Σ_t ‖c_n[t]‖₁ (c_n: head n's contribution to the attention output),
 *   oInSum/oInSq [B, heads·head_dim] = Σ_t x, Σ_t x² of the o_proj input,
 *   mlpAbs/mlpSum/mlpSq [B, intermediate] = Σ_t |a|, Σ_t a, Σ_t a² of the down_proj input.
 */
export interface LayerTaps {
  raw?: boolean;
  stats?: boolean;
  /** Gram matrices Σ_t x xᵀ (and Σ_t x) of the o_proj and down_proj inputs over real tokens,
   *  summed over the batch: what least-squares recovery solves from. */
  gram?: readonly GramProjection[];
  /** How each real token counts in the Gram sums (default `tokens`: all alike). */
  gramWeighting?: GramWeighting;
  /** What the Gram taps emit (default `sums`). */
  gramOutputs?: GramOutputs;
  /** Which part of the layer the graph computes (default `layer`); see LayerSpan. */
  span?: LayerSpan;
  /** Gram-tapped projections whose input from another stream — the dense model's, for the same
   *  tokens — the graph reads as `cross_<p>` [N, F]; their taps add Σ_t w_t x_t yᵀ and Σ_t w_t y. */
  cross?: readonly GramProjection[];
}

/**
 * Part of a sequential-residual layer, for passes that need only half of it:
 * - layer: input → output.
 * - attention: input → h1 = input + attention(norm(input)), the post-attention residual; the MLP
 *   is computed only as far as a requested `down` Gram tap needs (its input, and with residual
 *   weighting the layer output that weights it).
 * - mlp: h1 → h1 + mlp(norm(h1)), the MLP block alone (its input is the attention span's output).
 * Parallel-residual families have no h1 that the MLP reads (their MLP reads the layer input), so
 * they take only `layer`.
 */
export type LayerSpan = 'layer' | 'attention' | 'mlp';

export type GramProjection = 'o' | 'down';

/**
 * - tokens: every real token weighs 1.
 * - residual: a token weighs 1 / mean(r²), r the residual stream the projection's output is added
 *   to. The next layer's norm divides by ‖r‖, so an error there matters in proportion to
 *   ‖error‖/‖r‖; unweighted, the few tokens with massive activations (the first token of
 *   each sequence, 10⁵× the median in some layers of SmolLM2) would decide the whole fit.
 */
export type GramWeighting = 'tokens' | 'residual';


/**
 * What a Gram tap emits: the sums a fit accumulates (`sums`), the weighted rows themselves
 * (`rows`: x_t·√w_t [N, F] and √w_t [N, 1], what a held-out error is measured on without an
 * F × F matrix), or both.
 */
export type GramOutputs = 'sums' | 'rows' | 'both';

/** Per-batch Gram statistics of one projection's input: [F, F], [F] and the scalar Σ_t w_t; or its weighted rows. */
export interface GramTap {
  gram?: string;
  sum?: string;
  weight: string;
  rows?: { rows: string; root: string };
  /** With a cross input y: Σ_t w_t·x_t y_tᵀ [F, F] and Σ_t w_t·y_t [F]. */
  cross?: { gram: string; sum: string };
}

export const STAT_NAMES = ['headL1', 'oInSum', 'oInSq', 'mlpAbs', 'mlpSum', 'mlpSq'] as const;
export type StatName = (typeof STAT_NAMES)[number];

export interface LayerOutputs {
  /** [N, d] */
  hidden: string;
  /** [B, kv_heads, P + T, head_dim] each, when a past was given. */
  present?: { key: string; value: string };
  raw?: { oProjInput: string; downProjInput: string };
  stats?: Record<StatName, string>;
  gram?: Partial<Record<GramProjection, GramTap>>;
}

export type WeightRef = (name: LayerWeightName) => string | undefined;

export function emitDecoderLayer(
  g: GraphBuilder,
  spec: ArchSpec,
  shape: LayerShape,
  path: string,
  io: LayerInputs,
  weight: WeightRef,
  taps: LayerTaps = {},
  attention: AttentionPreference = defaultPreference(),
): LayerOutputs {
  const need = (name: LayerWeightName): string => {
    const w = weight(name);
    if (!w) throw new Error(`layer ${path}: missing weight ${name}`);
    return w;
  };
  const normOf = (prefix: 'attn_norm' | 'mlp_norm' | 'q_norm' | 'k_norm', p: string, x: string, kind = spec.norm.kind) =>
    norm(g, kind, p, x, need(`${prefix}.weight`), weight(`${prefix}.bias`), spec.norm.eps);

  const span = taps.span ?? 'layer';
  if (span !== 'layer') {
    if (spec.parallelResidual) throw new Error(`layer ${path}: a parallel-residual layer has no ${span} span`);
    if (taps.raw || taps.stats || io.past) throw new Error(`layer ${path}: the ${span} span has no raw/stats taps or KV cache`);
  }
  if (span === 'mlp') return emitMlpSpan(g, spec, path, io, need, weight, normOf, taps);

  const h = normOf('attn_norm', `${path}/input_layernorm`, io.hidden);
  const attn = emitAttention(g, spec, shape, `${path}/attn`, h, io, need, weight, normOf, taps, attention);
  const residual = g.op(`${path}/attn/residual/Add`, 'Add', [io.hidden, attn.output]);
  const residualWeighted = taps.gramWeighting === 'residual';
  const weightOf = (p: string, r: string) => (residualWeighted ? residualTokenWeight(g, p, r, io) : tokenColumn(g, p, io));
  if (span === 'attention') {
    const out: LayerOutputs = { hidden: residual };
    if (taps.gram?.length) {
      if (!io.tokenWeight) throw new Error('gram taps need a tokenWeight input');
      out.gram = {};
      if (taps.gram.includes('o')) out.gram.o = gramOf(g, `${path}/attn/o_proj/gram`, attn.oProjInput, weightOf(`${path}/attn/o_proj/gram`, residual), io.cross?.o, taps.gramOutputs);
      if (taps.gram.includes('down')) {
        const mlpIn = normOf('mlp_norm', `${path}/post_attention_layernorm`, residual);
        const a = emitMlpActivation(g, spec, `${path}/mlp`, mlpIn, need, weight);
        // residual weighting weighs a token by the layer output the dense down_proj would give
        const r = residualWeighted ? g.op(`${path}/mlp/residual/Add`, 'Add', [residual, linear(g, `${path}/mlp/down_proj`, a, need('down.weight'), weight('down.bias'))]) : residual;
        out.gram.down = gramOf(g, `${path}/mlp/down_proj/gram`, a, weightOf(`${path}/mlp/down_proj/gram`, r), io.cross?.down, taps.gramOutputs);
      }
    }
    return out;
  }

  const mlpIn = spec.parallelResidual ? h : normOf('mlp_norm', `${path}/post_attention_layernorm`, residual);
  const mlp = emitMlp(g, spec, `${path}/mlp`, mlpIn, need, weight);
  const hidden = g.op(`${path}/mlp/residual/Add`, 'Add', [residual, mlp.output]);

  const out: LayerOutputs = { hidden, present: attn.present };
  if (taps.raw) out.raw = { oProjInput: attn.oProjInput, downProjInput: mlp.downProjInput };
  if (taps.stats) {
    if (!io.tokenWeight) throw new Error('statistics taps need a tokenWeight input');
    out.stats = {
      headL1: attn.headL1!,
      ...featureStats(g, `${path}/attn/o_proj/stats`, attn.oProjInput, io, 'oIn'),
      ...mlpStats(g, `${path}/mlp/down_proj/stats`, mlp.downProjInput, io),
    } as Record<StatName, string>;
  }
  if (taps.gram?.length) {
    if (!io.tokenWeight) throw new Error('gram taps need a tokenWeight input');
    out.gram = {};
    // parallel residual: attention and MLP outputs land in the same sum, the layer's output
    const oResidual = spec.parallelResidual ? hidden : residual;
    if (taps.gram.includes('o')) out.gram.o = gramOf(g, `${path}/attn/o_proj/gram`, attn.oProjInput, weightOf(`${path}/attn/o_proj/gram`, oResidual), io.cross?.o, taps.gramOutputs);
    if (taps.gram.includes('down')) out.gram.down = gramOf(g, `${path}/mlp/down_proj/gram`, mlp.downProjInput, weightOf(`${path}/mlp/down_proj/gram`, hidden), io.cross?.down, taps.gramOutputs);
  }
  return out;
}

/** The token mask as a column [N, 1] (1 real, 0 padding). */
function tokenColumn(g: GraphBuilder, path: string, io: LayerInputs): string {
  return g.op(`${path}/weight/Reshape`, 'Reshape', [io.tokenWeight!, g.i64([-1, 1])]);
}

/** mask / (mean_d r² + ε) per token, [N, 1]; ε keeps an all-zero residual finite. */
function residualTokenWeight(g: GraphBuilder, path: string, r: string, io: LayerInputs): string {
  const meanSquare = g.op(`${path}/weight/ReduceMean`, 'ReduceMean', [g.op(`${path}/weight/Mul`, 'Mul', [r, r])], { axes: ints([1]), keepdims: int(1) });
  const inverse = g.op(`${path}/weight/Reciprocal`, 'Reciprocal', [g.op(`${path}/weight/Add`, 'Add', [meanSquare, g.f32(1e-6)])]);
  return g.op(`${path}/weight/Masked/Mul`, 'Mul', [tokenColumn(g, path, io), inverse]);
}

/**
 * Σ_t w_t·x_t x_tᵀ, Σ_t w_t·x_t and Σ_t w_t over the batch's tokens (w [N, 1], 0 for padding), one MatMul:
 *
 *   x [N, F] ─·w─▶ xw [N, F] ─Transpose─▶ [F, N] ─MatMul(x)─▶ [F, F]
 *
 * and/or (`rows`) the rows x_t·√w_t with √w_t, whose products give the same sums.
 */
function gramOf(g: GraphBuilder, path: string, x: string, w: string, y?: string, outputs: GramOutputs = 'sums'): GramTap {
  const weight = g.op(`${path}/weight/ReduceSum`, 'ReduceSum', [w], { keepdims: int(0) });
  const tap: GramTap = { weight };
  if (outputs !== 'sums') {
    const root = g.op(`${path}/rows/Sqrt`, 'Sqrt', [w]);
    tap.rows = { rows: g.op(`${path}/rows/Mul`, 'Mul', [x, root]), root };
  }
  if (outputs === 'rows') return tap;
  const xw = g.op(`${path}/weighted/Mul`, 'Mul', [x, w]);
  const xwT = g.op(`${path}/Transpose`, 'Transpose', [xw], { perm: ints([1, 0]) });
  tap.gram = g.op(`${path}/MatMul`, 'MatMul', [xwT, x]);
  tap.sum = g.op(`${path}/sum/ReduceSum`, 'ReduceSum', [xw, g.i64([0])], { keepdims: int(0) });
  if (!y) return tap;
  tap.cross = {
    gram: g.op(`${path}/cross/MatMul`, 'MatMul', [xwT, y]),
    sum: g.op(`${path}/cross/sum/ReduceSum`, 'ReduceSum', [g.op(`${path}/cross/weighted/Mul`, 'Mul', [y, w]), g.i64([0])], { keepdims: int(0) }),
  };
  return tap;
}

interface AttentionOut {
  output: string;
  present?: { key: string; value: string };
  oProjInput: string;
  headL1?: string;
}

function emitAttention(
  g: GraphBuilder,
  spec: ArchSpec,
  shape: LayerShape,
  path: string,
  h: string,
  io: LayerInputs,
  need: (n: LayerWeightName) => string,
  weight: WeightRef,
  normOf: (prefix: 'q_norm' | 'k_norm', p: string, x: string, kind?: ArchSpec['norm']['kind']) => string,
  taps: LayerTaps,
  attention: AttentionPreference,
): AttentionOut {
  const { heads, kvHeads } = shape;
  const dh = spec.headDim;

  // [N, n·dh] -> [B, T, n, dh]: the layout the fused kernel reads, and RoPE/qk-norm act on the last axis
  const toHeads = (name: string, x: string, n: number) => {
    const target = g.op(`${path}/${name}/shape/Concat`, 'Concat', [io.batchSeq, g.i64([n, dh])], { axis: int(0) });
    return g.op(`${path}/${name}/Reshape`, 'Reshape', [x, target]);
  };
  let q = toHeads('q', linear(g, `${path}/q_proj`, h, need('q.weight'), weight('q.bias')), heads);
  let k = toHeads('k', linear(g, `${path}/k_proj`, h, need('k.weight'), weight('k.bias')), kvHeads);
  const v = toHeads('v', linear(g, `${path}/v_proj`, h, need('v.weight'), weight('v.bias')), kvHeads);
  if (spec.qkNorm) {
    q = normOf('q_norm', `${path}/q_norm`, q, spec.qkNorm);
    k = normOf('k_norm', `${path}/k_norm`, k, spec.qkNorm);
  }
  // RoPE tables [B, 1, T, r/2] -> [B, T, 1, r/2] to broadcast over the heads axis
  const cos = g.op(`${path}/rope/cos/Transpose`, 'Transpose', [io.cos], { perm: ints([0, 2, 1, 3]) });
  const sin = g.op(`${path}/rope/sin/Transpose`, 'Transpose', [io.sin], { perm: ints([0, 2, 1, 3]) });
  q = applyRope(g, `${path}/q_rope`, q, cos, sin, spec.rope.rotaryDim, dh);
  k = applyRope(g, `${path}/k_rope`, k, cos, sin, spec.rope.rotaryDim, dh);

  const kernel = attentionKernel(spec, shape, attention);
  const attn = emitCausalAttention(g, path, kernel, shape, dh, { q, k, v, batchSeq: io.batchSeq, attnBias: io.attnBias, past: io.past, lengths: io.attentionLengths });
  const oProjInput = g.op(`${path}/context/flat/Reshape`, 'Reshape', [attn.context, g.i64([-1, heads * dh])]); // [N, H·dh]
  const output = linear(g, `${path}/o_proj`, oProjInput, need('o.weight'), weight('o.bias'));

  const result: AttentionOut = { output, oProjInput, present: attn.present };
  if (taps.stats) {
    const ctx = g.op(`${path}/context/heads/Transpose`, 'Transpose', [toHeads('context/heads', attn.context, heads)], { perm: ints([0, 2, 1, 3]) }); // [B, H, T, dh]
    result.headL1 = headContributionL1(g, `${path}/o_proj/head_l1`, ctx, need('o.weight'), heads, dh, spec.hidden, io);
  }
  return result;
}

/**
 * Σ over real tokens of ‖h_n[t] · W_O,nᵀ‖₁ per head — AMP's head score numerator.
 *
 *   W_O [d, H·dh] ─Reshape─▶ [d, H, dh] ─Transpose─▶ [H, dh, d]
 *   ctx [B, H, T, dh] ─MatMul─▶ [B, H, T, d] ─ReduceL1(d)─▶ [B, H, T] ─·w─ReduceSum(T)─▶ [B, H]
 *
 * (ReduceL1 rather than Abs + ReduceSum: no second [B, H, T, d] buffer, the largest in the graph)
 */
function headContributionL1(g: GraphBuilder, path: string, ctx: string, oWeight: string, heads: number, dh: number, d: number, io: LayerInputs): string {
  const perHead = g.op(`${path}/W/Transpose`, 'Transpose', [g.op(`${path}/W/Reshape`, 'Reshape', [oWeight, g.i64([d, heads, dh])])], {
    perm: ints([1, 2, 0]),
  });
  const contrib = g.op(`${path}/MatMul`, 'MatMul', [ctx, perHead]);
  const l1 = g.op(`${path}/ReduceL1`, 'ReduceL1', [contrib], { axes: ints([3]), keepdims: int(0) });
  const w = g.op(`${path}/weight/Unsqueeze`, 'Unsqueeze', [io.tokenWeight!, g.i64([1])]); // [B, 1, T]
  return g.op(`${path}/tokens/ReduceSum`, 'ReduceSum', [g.op(`${path}/weight/Mul`, 'Mul', [l1, w]), g.i64([2])], { keepdims: int(0) });
}

/** Σ_t w_t·x and Σ_t w_t·x² per feature of an [N, F] activation, as [B, F]. */
function featureStats(g: GraphBuilder, path: string, x: string, io: LayerInputs, prefix: 'oIn' | 'mlp'): Record<string, string> {
  const btf = g.op(`${path}/Reshape`, 'Reshape', [x, g.op(`${path}/shape/Concat`, 'Concat', [io.batchSeq, g.i64([-1])], { axis: int(0) })]);
  const w = g.op(`${path}/weight/Unsqueeze`, 'Unsqueeze', [io.tokenWeight!, g.i64([2])]); // [B, T, 1]
  const weighted = g.op(`${path}/weight/Mul`, 'Mul', [btf, w]);
  const sum = g.op(`${path}/sum/ReduceSum`, 'ReduceSum', [weighted, g.i64([1])], { keepdims: int(0) });
  const sq = g.op(`${path}/sq/ReduceSum`, 'ReduceSum', [g.op(`${path}/sq/Mul`, 'Mul', [weighted, btf]), g.i64([1])], { keepdims: int(0) });
  return { [`${prefix}Sum`]: sum, [`${prefix}Sq`]: sq };
}

function mlpStats(g: GraphBuilder, path: string, a: string, io: LayerInputs): Record<string, string> {
  const stats = featureStats(g, path, a, io, 'mlp');
  const btf = g.op(`${path}/abs/Reshape`, 'Reshape', [g.op(`${path}/Abs`, 'Abs', [a]), g.op(`${path}/abs/shape/Concat`, 'Concat', [io.batchSeq, g.i64([-1])], { axis: int(0) })]);
  const w = g.op(`${path}/abs/weight/Unsqueeze`, 'Unsqueeze', [io.tokenWeight!, g.i64([2])]);
  const abs = g.op(`${path}/abs/ReduceSum`, 'ReduceSum', [g.op(`${path}/abs/weight/Mul`, 'Mul', [btf, w]), g.i64([1])], { keepdims: int(0) });
  return { ...stats, mlpAbs: abs };
}

interface MlpOut {
  output: string;
  downProjInput: string;
}

/** The down_proj input: act(gate(x))·up(x), or act(fc1(x)) without a gate. */
function emitMlpActivation(g: GraphBuilder, spec: ArchSpec, path: string, x: string, need: (n: LayerWeightName) => string, weight: WeightRef): string {
  if (spec.gatedMlp) {
    const gate = linear(g, `${path}/gate_proj`, x, need('gate.weight'), weight('gate.bias'));
    const up = linear(g, `${path}/up_proj`, x, need('up.weight'), weight('up.bias'));
    return g.op(`${path}/gated/Mul`, 'Mul', [activation(g, spec.activation, `${path}/act`, gate), up]);
  }
  return activation(g, spec.activation, `${path}/act`, linear(g, `${path}/fc1`, x, need('up.weight'), weight('up.bias')));
}

function emitMlp(g: GraphBuilder, spec: ArchSpec, path: string, x: string, need: (n: LayerWeightName) => string, weight: WeightRef): MlpOut {
  const a = emitMlpActivation(g, spec, path, x, need, weight);
  return { output: linear(g, `${path}/down_proj`, a, need('down.weight'), weight('down.bias')), downProjInput: a };
}

/** The `mlp` span: io.hidden is h1, the post-attention residual; the output is h1 + mlp(norm(h1)). */
function emitMlpSpan(
  g: GraphBuilder,
  spec: ArchSpec,
  path: string,
  io: LayerInputs,
  need: (n: LayerWeightName) => string,
  weight: WeightRef,
  normOf: (prefix: 'mlp_norm', p: string, x: string) => string,
  taps: LayerTaps,
): LayerOutputs {
  if (taps.gram?.length) throw new Error(`layer ${path}: the mlp span has no Gram taps`);
  const mlp = emitMlp(g, spec, `${path}/mlp`, normOf('mlp_norm', `${path}/post_attention_layernorm`, io.hidden), need, weight);
  return { hidden: g.op(`${path}/mlp/residual/Add`, 'Add', [io.hidden, mlp.output]) };
}
