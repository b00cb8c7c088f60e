/**
 * Runs one decoder layer at a time with its weights fed as graph inputs, so a model of any depth
 * streams through one session per distinct layer shape. This is how scoring sees activations
 * without the whole model in memory.
 */
import type { ArchSpec, LayerShape, LayerWeightName } from '../arch/spec.js';
import { defaultPreference } from './attention.js';
import type { AttentionPreference } from './attention.js';
import { ElemType, GraphBuilder } from './graph.js';
import { emitDecoderLayer, STAT_NAMES } from './layer.js';
import type { GramProjection, LayerTaps, StatName } from './layer.js';
import { VERSION } from './model.js';
import type { PreparedBatch } from './prepared-batch.js';
import { OrtSession } from './session.js';
import type { FeedTensor, OutputTensor, SessionOptions } from './session.js';

export interface LayerResult {
  /** [B, T, d] */
  hidden: Float32Array;
  raw?: { oProjInput: OutputTensor; downProjInput: OutputTensor };
  stats?: Record<StatName, OutputTensor>;
  gram?: Partial<Record<GramProjection, GramResult>>;
}

/** A Gram tap's outputs for one batch (which of them: LayerTaps.gramOutputs). */
export interface GramResult {
  weight: OutputTensor;
  /** [F, F] and [F] (`sums`, `both`). */
  gram?: OutputTensor;
  sum?: OutputTensor;
  /** x_t·√w_t [N, F] and √w_t [N, 1] (`rows`, `both`). */
  rows?: { rows: OutputTensor; root: OutputTensor };
  cross?: { gram: OutputTensor; sum: OutputTensor };
}

/** The per-layer graph: inputs hidden [B,T,d], attn_bias, cos, sin, (token_weight), and every weight by logical name. */
export function buildLayerGraph(spec: ArchSpec, layer: number, taps: LayerTaps, attention: AttentionPreference = defaultPreference()): Uint8Array {
  const shape = spec.layers[layer];
  const g = new GraphBuilder(`amp-prune-layer-${shape.heads}h-${shape.kvHeads}kv-${shape.intermediate}i`);
  const half = spec.rope.rotaryDim / 2;
  const hiddenIn = g.input('hidden', ElemType.FLOAT, ['batch', 'seq', spec.hidden]);
  // the MLP span reads no attention inputs
  const attends = (taps.span ?? 'layer') !== 'mlp';
  const attnBias = attends ? g.input('attn_bias', ElemType.FLOAT, ['batch', 1, 1, 'seq', 'seq']) : '';
  const cos = attends ? g.input('cos', ElemType.FLOAT, ['batch', 1, 'seq', half]) : '';
  const sin = attends ? g.input('sin', ElemType.FLOAT, ['batch', 1, 'seq', half]) : '';
  const tokenWeight = taps.stats || taps.gram?.length ? g.input('token_weight', ElemType.FLOAT, ['batch', 'seq']) : undefined;
  // a weight becomes a graph input when the layer reads it: a span graph takes only its half's weights
  const declared = new Map(spec.layerWeights(layer).map((w) => [w.name, w.shape]));
  const weights = new Map<LayerWeightName, string>();
  const weight = (n: LayerWeightName): string | undefined => {
    const shape = declared.get(n);
    if (!shape) return undefined;
    if (!weights.has(n)) weights.set(n, g.input(n, ElemType.FLOAT, shape));
    return weights.get(n);
  };

  const features = { o: shape.heads * spec.headDim, down: shape.intermediate };
  const cross = Object.fromEntries((taps.cross ?? []).map((p) => [p, g.input(`cross_${p}`, ElemType.FLOAT, ['tokens', features[p]])]));
  const shapeOf = g.op('/layer/shape/Shape', 'Shape', [hiddenIn]);
  const batchSeq = g.op('/layer/shape/Slice', 'Slice', [shapeOf, g.i64([0]), g.i64([2])]);
  const hidden = g.op('/layer/flatten/Reshape', 'Reshape', [hiddenIn, g.i64([-1, spec.hidden])]);
  const out = emitDecoderLayer(g, spec, shape, '/layer', { hidden, batchSeq, attnBias, cos, sin, tokenWeight, cross }, weight, taps, attention);

  g.output(g.op('/layer/unflatten/Reshape', 'Reshape', [out.hidden, shapeOf]), 'hidden_out', ElemType.FLOAT, ['batch', 'seq', spec.hidden]);
  if (out.raw) {
    g.output(out.raw.oProjInput, 'o_proj_input', ElemType.FLOAT, ['tokens', shape.heads * spec.headDim]);
    g.output(out.raw.downProjInput, 'down_proj_input', ElemType.FLOAT, ['tokens', shape.intermediate]);
  }
  if (out.stats) for (const s of STAT_NAMES) g.output(out.stats[s], `stat_${s}`, ElemType.FLOAT, ['batch', 'features']);
  if (out.gram) {
    for (const [p, tap] of Object.entries(out.gram)) {
      if (tap!.gram) g.output(tap!.gram, `gram_${p}`, ElemType.FLOAT, ['features', 'features']);
      if (tap!.sum) g.output(tap!.sum, `gram_sum_${p}`, ElemType.FLOAT, ['features']);
      g.output(tap!.weight, `gram_weight_${p}`, ElemType.FLOAT, []);
      if (tap!.rows) {
        g.output(tap!.rows.rows, `gram_rows_${p}`, ElemType.FLOAT, ['tokens', 'features']);
        g.output(tap!.rows.root, `gram_root_${p}`, ElemType.FLOAT, ['tokens', 1]);
      }
      if (tap!.cross) {
        g.output(tap!.cross.gram, `cross_gram_${p}`, ElemType.FLOAT, ['features', 'features']);
        g.output(tap!.cross.sum, `cross_sum_${p}`, ElemType.FLOAT, ['features']);
      }
    }
  }
  return g.toBytes(VERSION);
}

function shapeKey(shape: LayerShape, taps: LayerTaps): string {
  return `${shape.heads}/${shape.kvHeads}/${shape.intermediate}/${taps.span ?? 'layer'}/${taps.raw ? 'raw' : ''}${taps.stats ? 'stats' : ''}${taps.gram?.length ? `gram:${taps.gram.join('+')}:${taps.gramWeighting ?? 'tokens'}:${taps.gramOutputs ?? 'sums'}` : ''}${taps.cross?.length ? `cross:${taps.cross.join('+')}` : ''}`;
}

export class LayerRunner {
  private readonly sessions = new Map<string, Promise<OrtSession>>();

  constructor(
    readonly spec: ArchSpec,
    private readonly opts: SessionOptions = {},
  ) {}

  private session(layer: number, taps: LayerTaps): Promise<OrtSession> {
    const key = shapeKey(this.spec.layers[layer], taps);
    let s = this.sessions.get(key);
    if (!s) {
      s = OrtSession.create(buildLayerGraph(this.spec, layer, taps, this.opts.attention), this.opts);
      this.sessions.set(key, s);
    }
    return s;
  }

  async run(
    layer: number,
    hidden: Float32Array,
    batch: PreparedBatch,
    weights: Map<LayerWeightName, Float32Array>,
    taps: LayerTaps = {},
    /** The cross inputs taps.cross names, [B·T, F] each. */
    cross: Partial<Record<GramProjection, Float32Array>> = {},
  ): Promise<LayerResult> {
    const { batch: B, seqLen: T } = batch.tokens;
    const session = await this.session(layer, taps);
    const reads = new Set(session.inputNames);
    const feeds: Record<string, FeedTensor> = { hidden: { type: 'float32', data: hidden, dims: [B, T, this.spec.hidden] } };
    if (reads.has('attn_bias')) feeds.attn_bias = batch.attnBias(this.spec.slidingWindows[layer]);
    if (reads.has('cos')) Object.assign(feeds, { cos: batch.cos, sin: batch.sin });
    if (reads.has('token_weight')) feeds.token_weight = batch.tokenWeight;
    for (const p of taps.cross ?? []) {
      const data = cross[p];
      if (!data) throw new Error(`layer ${layer}: cross input ${p} not provided`);
      feeds[`cross_${p}`] = { type: 'float32', data, dims: [B * T, data.length / (B * T)] };
    }
    for (const w of this.spec.layerWeights(layer)) {
      if (!reads.has(w.name)) continue;
      const data = weights.get(w.name);
      if (!data) throw new Error(`layer ${layer}: weight ${w.name} not provided`);
      feeds[w.name] = { type: 'float32', data, dims: w.shape };
    }
    const out = await session.run(feeds);
    const result: LayerResult = { hidden: out.hidden_out.data };
    if (taps.raw) result.raw = { oProjInput: out.o_proj_input, downProjInput: out.down_proj_input };
    if (taps.gram?.length) {
      const crossOf = (p: GramProjection) => (taps.cross?.includes(p) ? { cross: { gram: out[`cross_gram_${p}`], sum: out[`cross_sum_${p}`] } } : {});
      const rowsOf = (p: GramProjection) => (out[`gram_rows_${p}`] ? { rows: { rows: out[`gram_rows_${p}`], root: out[`gram_root_${p}`] } } : {});
      result.gram = Object.fromEntries(taps.gram.map((p): [GramProjection, GramResult] => [p, { gram: out[`gram_${p}`], sum: out[`gram_sum_${p}`], weight: out[`gram_weight_${p}`], ...rowsOf(p), ...crossOf(p) }]));
    }
    if (taps.stats) result.stats = Object.fromEntries(STAT_NAMES.map((s) => [s, out[`stat_${s}`]])) as Record<StatName, OutputTensor>;
    return result;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}

/** Embedding lookup for the streaming path: rows of the embedding matrix, [B, T, d]. */
export function embed(table: Float32Array, ids: Int32Array, hidden: number): Float32Array {
  const out = new Float32Array(ids.length * hidden);
  ids.forEach((id, i) => out.set(table.subarray(id * hidden, (id + 1) * hidden), i * hidden));
  return out;
}
