/**
 * bench/attention: one causal self-attention block (RoPE'd Q, K, V in, per-head context out)
 * through each way onnxruntime-node can compute it on CPU, in one run, as ratios to our unfused
 * graph (MatMul · scale + additive bias → Softmax → MatMul):
 *
 *   gqa        com.microsoft GroupQueryAttention, causal, K/V at kv_heads (no copies)
 *   mha        com.microsoft MultiHeadAttention, unidirectional, K/V expanded to every head
 *   mha-bias   the same with our additive bias instead of `unidirectional`
 *   attn23     opset-23 Attention, is_causal, q_num_heads / kv_num_heads
 *   attn23-bias the same with our additive bias as attn_mask
 *
 * Every variant's output is checked against the unfused one, so a faster op that computes
 * something else is reported as such rather than as a win.
 *
 *   node --import tsx bench/attention.ts [--lengths 128,512,2048,4096] [--repeats 5] [--threads N]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { ElemType, GraphBuilder, float, int, ints } from '../src/engine/graph.js';
import type { AttributeValue } from '../src/engine/onnx/model.js';
import { VERSION } from '../src/engine/model.js';
import { OrtSession } from '../src/engine/session.js';
import type { FeedTensor } from '../src/engine/session.js';
import { fixed, isMain, machine, printTable, summarize, timeRepeats, writeResult } from './common.js';

const HEADS = 9;
const KV_HEADS = 3;
const HEAD_DIM = 64;
const MS = 'com.microsoft';

interface Variant {
  name: string;
  graph: () => Uint8Array;
  feeds: (T: number) => Record<string, FeedTensor>;
}

function qkvInputs(g: GraphBuilder): { q: string; k: string; v: string } {
  return {
    q: g.input('q', ElemType.FLOAT, [1, 'seq', HEADS * HEAD_DIM]),
    k: g.input('k', ElemType.FLOAT, [1, 'seq', KV_HEADS * HEAD_DIM]),
    v: g.input('v', ElemType.FLOAT, [1, 'seq', KV_HEADS * HEAD_DIM]),
  };
}

function finish(g: GraphBuilder, out: string): Uint8Array {
  g.output(out, 'out', ElemType.FLOAT, [1, 'seq', HEADS * HEAD_DIM]);
  return g.toBytes(VERSION);
}

/** [1, T, n·dh] → [1, n, T, dh] */
function toHeads(g: GraphBuilder, name: string, x: string, n: number): string {
  return g.op(`/${name}/Transpose`, 'Transpose', [g.op(`/${name}/Reshape`, 'Reshape', [x, g.i64([1, -1, n, HEAD_DIM])])], { perm: ints([0, 2, 1, 3]) });
}

function fromHeads(g: GraphBuilder, x: string): string {
  return g.op('/out/Reshape', 'Reshape', [g.op('/out/Transpose', 'Transpose', [x], { perm: ints([0, 2, 1, 3]) }), g.i64([1, -1, HEADS * HEAD_DIM])]);
}

/** The engine's current path (layer.ts before fusion), with the bias fed as [1, 1, 1, T, T]. */
function unfused(): Uint8Array {
  const g = new GraphBuilder('unfused');
  const { q, k, v } = qkvInputs(g);
  const bias = g.input('bias5', ElemType.FLOAT, [1, 1, 1, 'seq', 'seq']);
  const group = HEADS / KV_HEADS;
  const q5 = g.op('/q5', 'Reshape', [toHeads(g, 'q', q, HEADS), g.i64([0, KV_HEADS, group, -1, HEAD_DIM])]);
  const k5t = g.op('/k5t', 'Transpose', [g.op('/k5', 'Unsqueeze', [toHeads(g, 'k', k, KV_HEADS), g.i64([2])])], { perm: ints([0, 1, 2, 4, 3]) });
  const v5 = g.op('/v5', 'Unsqueeze', [toHeads(g, 'v', v, KV_HEADS), g.i64([2])]);
  const scores = g.op('/scale', 'Mul', [g.op('/qk', 'MatMul', [q5, k5t]), g.f32(1 / Math.sqrt(HEAD_DIM))]);
  const probs = g.op('/softmax', 'Softmax', [g.op('/bias', 'Add', [scores, bias])], { axis: int(-1) });
  const ctx = g.op('/ctx4', 'Reshape', [g.op('/pv', 'MatMul', [probs, v5]), g.i64([0, HEADS, -1, HEAD_DIM])]);
  return finish(g, fromHeads(g, ctx));
}

function gqa(): Uint8Array {
  const g = new GraphBuilder('gqa');
  const { q, k, v } = qkvInputs(g);
  const seqlensK = g.input('seqlens_k', ElemType.INT32, [1]);
  const total = g.input('total_sequence_length', ElemType.INT32, []);
  g.op('/gqa', 'GroupQueryAttention', [q, k, v, '', '', seqlensK, total], { num_heads: int(HEADS), kv_num_heads: int(KV_HEADS) }, { domain: MS, outputCount: 3 });
  return finish(g, g.outputsOf('/gqa', 3)[0]);
}

/** K/V repeated to every query head: [1, T, kv·dh] → [1, T, H·dh] (head h reads kv head h / group). */
function expandKv(g: GraphBuilder, name: string, x: string): string {
  const group = HEADS / KV_HEADS;
  const x4 = g.op(`/${name}/rep/Reshape`, 'Reshape', [x, g.i64([1, -1, KV_HEADS, 1, HEAD_DIM])]);
  const tiled = g.op(`/${name}/rep/Expand`, 'Expand', [x4, g.i64([1, 1, KV_HEADS, group, HEAD_DIM])]);
  return g.op(`/${name}/rep/flat`, 'Reshape', [tiled, g.i64([1, -1, HEADS * HEAD_DIM])]);
}

function mha(withBias: boolean): Uint8Array {
  const g = new GraphBuilder(withBias ? 'mha-bias' : 'mha');
  const { q, k, v } = qkvInputs(g);
  const bias = withBias ? g.input('bias4', ElemType.FLOAT, [1, 1, 'seq', 'seq']) : '';
  const attrs: Record<string, AttributeValue> = { num_heads: int(HEADS) };
  if (!withBias) attrs.unidirectional = int(1);
  const out = g.op('/mha', 'MultiHeadAttention', [q, expandKv(g, 'k', k), expandKv(g, 'v', v), '', '', bias], attrs, { domain: MS });
  return finish(g, out);
}

function attention23(withMask: boolean): Uint8Array {
  const g = new GraphBuilder(withMask ? 'attn23-bias' : 'attn23', 23);
  const { q, k, v } = qkvInputs(g);
  const mask = withMask ? g.input('bias2', ElemType.FLOAT, ['seq', 'seq']) : undefined;
  const attrs = { q_num_heads: int(HEADS), kv_num_heads: int(KV_HEADS), scale: float(1 / Math.sqrt(HEAD_DIM)), ...(withMask ? {} : { is_causal: int(1) }) };
  const out = g.op('/attn', 'Attention', mask ? [q, k, v, mask] : [q, k, v], attrs, { outputCount: 1 });
  return finish(g, out);
}

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 4;
  }
  return out;
}

function causalBias(T: number): Float32Array {
  const b = new Float32Array(T * T).fill(-3.4028234663852886e38);
  for (let i = 0; i < T; i++) b.fill(0, i * T, i * T + i + 1);
  return b;
}

function baseFeeds(T: number): Record<string, FeedTensor> {
  return {
    q: { type: 'float32', data: random(T * HEADS * HEAD_DIM, 1), dims: [1, T, HEADS * HEAD_DIM] },
    k: { type: 'float32', data: random(T * KV_HEADS * HEAD_DIM, 2), dims: [1, T, KV_HEADS * HEAD_DIM] },
    v: { type: 'float32', data: random(T * KV_HEADS * HEAD_DIM, 3), dims: [1, T, KV_HEADS * HEAD_DIM] },
  };
}

const VARIANTS: Variant[] = [
  { name: 'unfused', graph: unfused, feeds: (T) => ({ ...baseFeeds(T), bias5: { type: 'float32', data: causalBias(T), dims: [1, 1, 1, T, T] } }) },
  {
    name: 'gqa',
    graph: gqa,
    feeds: (T) => ({
      ...baseFeeds(T),
      seqlens_k: { type: 'int32', data: Int32Array.of(T - 1), dims: [1] },
      total_sequence_length: { type: 'int32', data: Int32Array.of(T), dims: [] },
    }),
  },
  { name: 'mha', graph: () => mha(false), feeds: baseFeeds },
  { name: 'mha-bias', graph: () => mha(true), feeds: (T) => ({ ...baseFeeds(T), bias4: { type: 'float32', data: causalBias(T), dims: [1, 1, T, T] } }) },
  { name: 'attn23', graph: () => attention23(false), feeds: baseFeeds },
  { name: 'attn23-bias', graph: () => attention23(true), feeds: (T) => ({ ...baseFeeds(T), bias2: { type: 'float32', data: causalBias(T), dims: [T, T] } }) },
];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { lengths: { type: 'string' }, repeats: { type: 'string' }, threads: { type: 'string' } } });
  const lengths = (values.lengths ?? '128,512,2048,4096').split(',').map(Number);
  const repeats = Number(values.repeats ?? 5);
  const threads = Number(values.threads ?? os.availableParallelism());
  const host = await machine(threads);
  const rows: Record<string, unknown>[] = [];
  const table: string[][] = [['T', 'variant', 'median ms', 'spread', 'unfused/variant', 'max |Δ| vs unfused']];
  for (const T of lengths) {
    let reference: { out: Float32Array; median: number } | undefined;
    for (const variant of VARIANTS) {
      let session: OrtSession;
      try {
        session = await OrtSession.create(variant.graph(), { threads });
      } catch (e) {
        table.push([String(T), variant.name, 'unsupported', '', '', (e as Error).message.split('\n')[0].slice(0, 80)]);
        continue;
      }
      try {
        const feeds = variant.feeds(T);
        const out = (await session.run(feeds)).out.data;
        const times = summarize(await timeRepeats(() => session.run(feeds), 1, repeats));
        reference ??= { out, median: times.median };
        const diff = maxAbsDiff(out, reference.out);
        rows.push({ tokens: T, variant: variant.name, seconds: times, speedup_over_unfused: reference.median / times.median, max_abs_diff: diff });
        table.push([String(T), variant.name, fixed(times.median * 1000, 2), `${fixed(100 * times.spread, 0)}%`, `${fixed(reference.median / times.median)}x`, diff.toExponential(1)]);
      } catch (e) {
        table.push([String(T), variant.name, 'failed', '', '', (e as Error).message.split('\n')[0].slice(0, 80)]);
      } finally {
        await session.release();
      }
    }
  }
  printTable(table);
  const file = await writeResult('attention', {
    bench: 'attention',
    machine: host,
    settings: { batch: 1, heads: HEADS, kv_heads: KV_HEADS, head_dim: HEAD_DIM, repeats, warmup: 1 },
    rows,
  });
  console.log(`written ${file}`);
}

if (isMain(import.meta.url)) await main();
