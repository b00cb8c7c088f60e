/**
 * Causal self-attention of one layer on RoPE'd queries, keys and values, two ways:
 *
 * - fused: onnxruntime's com.microsoft GroupQueryAttention CPU kernel (K/V stay at kv_heads, no
 *   [B, H, T, T] bias-add and softmax passes of our own). bench/attention.ts measured it the fastest
 *   of the fused ops onnxruntime-node 1.30 offers on CPU (GroupQueryAttention, MultiHeadAttention,
 *   opset-23 Attention) at long prompts.
 * - unfused: MatMul · scale + additive bias → Softmax → MatMul, queries viewed as
 *   [B, kv_heads, group, T, head_dim] so grouped K/V broadcast without copies.
 *
 * Both take the same additive bias (causal + padding + sliding window, built in JS), so they agree
 * on every padding layout and window; RoPE is applied outside (partial rotary, LongRoPE and
 * per-position tables stay ours). The kernel is told every row holds P + T keys (seqlens_k =
 * P + T − 1): its own causal rule is then ours, the cache layout stays "past, then new", and the
 * bias masks what is padding.
 *
 * What the fused kernel cannot do is a matter of data, checked per layer by `attentionKernel`:
 * head_dim must be a multiple of 8, and queries per kv head a whole number. It also refuses a
 * batch of several rows with several new tokens on top of a cache (a shared-context continuation
 * pass); graphs with a cache input branch to the unfused path for exactly those runs.
 */
import type { ArchSpec, LayerShape } from '../arch/spec.js';
import { ElemType, float, graph, int, ints } from './graph.js';
import type { GraphBuilder } from './graph.js';

export type AttentionKernel = 'fused' | 'unfused';

/** 'auto': fused where the layer allows it; 'unfused': never (conformance tests run both). */
export type AttentionPreference = 'auto' | 'unfused';

const MS_DOMAIN = 'com.microsoft';

/** The kernel a layer of this shape gets. */
export function attentionKernel(spec: ArchSpec, shape: LayerShape, preference: AttentionPreference = defaultPreference()): AttentionKernel {
  if (preference === 'unfused') return 'unfused';
  const wholeGroups = shape.heads > 0 && shape.kvHeads > 0 && shape.heads % shape.kvHeads === 0;
  return wholeGroups && spec.headDim % 8 === 0 ? 'fused' : 'unfused';
}

/** AMP_PRUNE_ATTENTION=unfused forces the unfused path everywhere (debugging, A/B timing). */
export function defaultPreference(): AttentionPreference {
  const v = process.env.AMP_PRUNE_ATTENTION;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'unfused') return 'unfused';
  throw new Error(`AMP_PRUNE_ATTENTION must be auto or unfused, not '${v}'`);
}

/** Per-graph scalars the fused kernel reads, computed once and shared by every layer. */
export interface AttentionLengths {
  /** int32 [B]: P + T − 1 on every row. */
  seqlensK: string;
  /** int32 scalar: P + T. */
  total: string;
  /** bool scalar, graphs with a cache only: B > 1 and T > 1 and P > 0 (the fused kernel refuses it). */
  needsUnfused?: string;
}

/** `batchSeq`: int64 [2] = B, T; `pastKey`: any layer's past key [B, kv, P, dh], if the graph has a cache. */
export function attentionLengths(g: GraphBuilder, batchSeq: string, pastKey?: string): AttentionLengths {
  const path = '/attention_lengths';
  const batch = g.op(`${path}/B/Slice`, 'Slice', [batchSeq, g.i64([0]), g.i64([1])]); // int64 [1]
  const seq = g.op(`${path}/T/Slice`, 'Slice', [batchSeq, g.i64([1]), g.i64([2])]);
  let totalI64 = seq;
  let past: string | undefined;
  if (pastKey) {
    past = g.op(`${path}/P/Slice`, 'Slice', [g.op(`${path}/P/Shape`, 'Shape', [pastKey]), g.i64([2]), g.i64([3])]);
    totalI64 = g.op(`${path}/total/Add`, 'Add', [seq, past]);
  }
  const totalI32 = g.op(`${path}/total/Cast`, 'Cast', [totalI64], { to: int(ElemType.INT32) }); // [1]
  const total = g.op(`${path}/total/Squeeze`, 'Squeeze', [totalI32, g.i64([0])]);
  const last = g.op(`${path}/seqlens_k/Sub`, 'Sub', [totalI32, g.op(`${path}/one/Cast`, 'Cast', [g.i64([1])], { to: int(ElemType.INT32) })]);
  const seqlensK = g.op(`${path}/seqlens_k/Expand`, 'Expand', [last, batch]);
  const out: AttentionLengths = { seqlensK, total };
  if (past) {
    const over = (x: string, n: number, name: string) => g.op(`${path}/${name}/Greater`, 'Greater', [x, g.i64([n])]);
    const both = g.op(`${path}/BT/And`, 'And', [over(batch, 1, 'B'), over(seq, 1, 'T')]);
    const all = g.op(`${path}/BTP/And`, 'And', [both, over(past, 0, 'P')]);
    out.needsUnfused = g.op(`${path}/BTP/Squeeze`, 'Squeeze', [all, g.i64([0])]);
  }
  return out;
}

export interface AttentionIo {
  /** [B, T, H, dh], [B, T, kv, dh] ×2, RoPE applied. */
  q: string;
  k: string;
  v: string;
  /** int64 [2]: B, T. */
  batchSeq: string;
  /** [B, 1, 1, T, P + T] additive bias. */
  attnBias: string;
  past?: { key: string; value: string };
  lengths?: AttentionLengths;
}

export interface AttentionResult {
  /** [B, T, H·dh]: every head's context, heads side by side — the o_proj input. */
  context: string;
  /** [B, kv, P + T, dh] each, when a past was given. */
  present?: { key: string; value: string };
}

/** Attention with `kernel`; the fused kernel falls back to unfused at run time where it must. */
export function emitCausalAttention(g: GraphBuilder, path: string, kernel: AttentionKernel, shape: LayerShape, dh: number, io: AttentionIo): AttentionResult {
  if (kernel === 'unfused') return unfused(g, `${path}/unfused`, shape, dh, io);
  const lengths = io.lengths ?? attentionLengths(g, io.batchSeq, io.past?.key);
  if (!io.past) return fused(g, `${path}/fused`, shape, dh, io, lengths);
  if (!lengths.needsUnfused) throw new Error(`${path}: attention lengths were computed without the cache`);
  const yields = (r: AttentionResult) => [r.context, r.present!.key, r.present!.value];
  const thenBranch = g.subgraph(`${path}/if_unfused`, (b) => yields(unfused(b, `${path}/unfused`, shape, dh, io)));
  const elseBranch = g.subgraph(`${path}/if_fused`, (b) => yields(fused(b, `${path}/fused`, shape, dh, io, lengths)));
  g.op(`${path}/If`, 'If', [lengths.needsUnfused], { then_branch: graph(thenBranch), else_branch: graph(elseBranch) }, { outputCount: 3 });
  const [context, key, value] = g.outputsOf(`${path}/If`, 3);
  return { context, present: { key, value } };
}

/** [B, T, n, dh] → [B, T, n·dh] */
function flatHeads(g: GraphBuilder, path: string, x: string, n: number, dh: number): string {
  return g.op(`${path}/Reshape`, 'Reshape', [x, g.i64([0, 0, n * dh])]);
}

function fused(g: GraphBuilder, path: string, shape: LayerShape, dh: number, io: AttentionIo, lengths: AttentionLengths): AttentionResult {
  const q = flatHeads(g, `${path}/q`, io.q, shape.heads, dh);
  const k = flatHeads(g, `${path}/k`, io.k, shape.kvHeads, dh);
  const v = flatHeads(g, `${path}/v`, io.v, shape.kvHeads, dh);
  const bias = g.op(`${path}/bias/Squeeze`, 'Squeeze', [io.attnBias, g.i64([1])]); // [B, 1, T, P + T]
  const inputs = [q, k, v, io.past?.key ?? '', io.past?.value ?? '', lengths.seqlensK, lengths.total, '', '', '', bias];
  const attrs = { num_heads: int(shape.heads), kv_num_heads: int(shape.kvHeads), scale: float(1 / Math.sqrt(dh)) };
  g.op(`${path}/GroupQueryAttention`, 'GroupQueryAttention', inputs, attrs, { domain: MS_DOMAIN, outputCount: 3 });
  const [context, key, value] = g.outputsOf(`${path}/GroupQueryAttention`, 3);
  return { context, present: io.past ? { key, value } : undefined };
}

function unfused(g: GraphBuilder, path: string, shape: LayerShape, dh: number, io: AttentionIo): AttentionResult {
  const { heads, kvHeads } = shape;
  const group = heads / kvHeads;
  const toBnsh = (name: string, x: string) => g.op(`${path}/${name}/Transpose`, 'Transpose', [x], { perm: ints([0, 2, 1, 3]) });
  let k = toBnsh('k', io.k);
  let v = toBnsh('v', io.v);
  let present: AttentionResult['present'];
  if (io.past) {
    // keys/values of earlier tokens come first along the sequence axis: [B, kv, P + T, dh]
    k = g.op(`${path}/k/cache/Concat`, 'Concat', [io.past.key, k], { axis: int(2) });
    v = g.op(`${path}/v/cache/Concat`, 'Concat', [io.past.value, v], { axis: int(2) });
    present = { key: k, value: v };
  }
  const q5 = g.op(`${path}/q/group/Reshape`, 'Reshape', [toBnsh('q', io.q), g.i64([0, kvHeads, group, -1, dh])]); // [B, kv, group, T, dh]
  const k5t = g.op(`${path}/k/group/Transpose`, 'Transpose', [g.op(`${path}/k/group/Unsqueeze`, 'Unsqueeze', [k, g.i64([2])])], {
    perm: ints([0, 1, 2, 4, 3]),
  }); // [B, kv, 1, dh, P + T]
  const v5 = g.op(`${path}/v/group/Unsqueeze`, 'Unsqueeze', [v, g.i64([2])]); // [B, kv, 1, P + T, dh]
  const scores = g.op(`${path}/scores/Mul`, 'Mul', [g.op(`${path}/scores/MatMul`, 'MatMul', [q5, k5t]), g.f32(1 / Math.sqrt(dh))]);
  const probs = g.op(`${path}/Softmax`, 'Softmax', [g.op(`${path}/scores/Add`, 'Add', [scores, io.attnBias])], { axis: int(-1) });
  const ctx5 = g.op(`${path}/context/MatMul`, 'MatMul', [probs, v5]); // [B, kv, group, T, dh]
  const ctx = g.op(`${path}/context/Reshape`, 'Reshape', [ctx5, g.i64([0, heads, -1, dh])]); // [B, H, T, dh]
  const bthd = g.op(`${path}/context/Transpose`, 'Transpose', [ctx], { perm: ints([0, 2, 1, 3]) });
  return { context: flatHeads(g, `${path}/context/heads`, bthd, heads, dh), present };
}
