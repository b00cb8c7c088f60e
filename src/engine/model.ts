/**
 * The whole model as one ONNX graph, weights as initializers (so onnxruntime can pre-pack them),
 * or, for a model too big for one protobuf (2 GiB), as graph inputs fed on every run:
 *
 *   input_ids ─Gather(embed)─▶ layer 0 … layer L-1 ─final norm─lm_head─▶ logits [B, T, V]
 *
 * Every layer also takes its KV cache (past_key.i / past_value.i, possibly empty) and returns the
 * extended one (present_*), so one session serves full forwards, prefix reuse and decoding.
 * Used for logits, perplexity and evaluation. Pruning streams layers instead (layer-runner.ts).
 */
import type { ArchSpec, GlobalWeightName, LayerWeightName } from '../arch/spec.js';
import { attentionLengths, defaultPreference } from './attention.js';
import type { AttentionLengths, AttentionPreference } from './attention.js';
import { GraphBuilder, ElemType, int } from './graph.js';
import { emitDecoderLayer } from './layer.js';
import { linear } from './ops/linear.js';
import { norm } from './ops/norm.js';
import { biasInputName } from './prepared-batch.js';
import type { FeedTensor } from './session.js';

export const VERSION = '0.1.0';

export interface ModelWeights {
  globals: Map<GlobalWeightName, Float32Array>;
  layers: Map<LayerWeightName, Float32Array>[];
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Per-position log-probability of a given next token, and whether it is the argmax — what
 * likelihood-based evaluation needs, without sending [B, T, V] logits back to JS:
 *
 *   logits [N, V] ─LogSoftmax─GatherElements(targets)─▶ target_logprob [B, T]
 *                 └ArgMax──────Equal(targets)─Cast────▶ target_greedy  [B, T] (1.0 / 0.0)
 */
function emitTargetScores(g: GraphBuilder, logits2d: string, batchSeq: string): void {
  const targets = g.input('targets', ElemType.INT64, ['batch', 'seq']);
  const column = g.op('/scores/targets/Reshape', 'Reshape', [targets, g.i64([-1, 1])]);
  const logProbs = g.op('/scores/LogSoftmax', 'LogSoftmax', [logits2d], { axis: int(1) });
  const picked = g.op('/scores/GatherElements', 'GatherElements', [logProbs, column], { axis: int(1) });
  g.output(g.op('/scores/logprob/Reshape', 'Reshape', [picked, batchSeq]), 'target_logprob', ElemType.FLOAT, ['batch', 'seq']);
  const argmax = g.op('/scores/ArgMax', 'ArgMax', [logits2d], { axis: int(1), keepdims: int(1) });
  const isGreedy = g.op('/scores/Cast', 'Cast', [g.op('/scores/Equal', 'Equal', [argmax, column])], { to: int(ElemType.FLOAT) });
  g.output(g.op('/scores/greedy/Reshape', 'Reshape', [isGreedy, batchSeq]), 'target_greedy', ElemType.FLOAT, ['batch', 'seq']);
}

/** Graph values for the model's weights, by logical name (undefined where the model has none). */
export interface GraphWeights {
  global(name: GlobalWeightName): string | undefined;
  layer(layer: number, name: LayerWeightName): string | undefined;
}

/** Per-batch graph values the decoder layers read (see LayerInputs). */
export interface BodyInputs {
  ids: string;
  attnBias(window: number | undefined): string;
  cos: string;
  sin: string;
  past(layer: number): { key: string; value: string };
}

export interface BodyOutputs {
  /** [B·T, V] */
  logits2d: string;
  /** [B, T, V] */
  logits: string;
  /** int64 [2]: B, T */
  batchSeq: string;
  presents: { key: string; value: string }[];
}

/**
 * Embedding, every decoder layer, final norm and LM head: the one model definition that both the
 * engine's session graph and the ONNX export are built from (they differ only in their inputs).
 */
export function emitCausalLm(g: GraphBuilder, spec: ArchSpec, weights: GraphWeights, io: BodyInputs, attention: AttentionPreference = defaultPreference()): BodyOutputs {
  const embed = weights.global('embed.weight')!;
  const batchSeq = g.op('/model/shape/Shape', 'Shape', [io.ids]);
  const flatIds = g.op('/model/embed_tokens/Reshape', 'Reshape', [io.ids, g.i64([-1])]);
  let hidden = g.op('/model/embed_tokens/Gather', 'Gather', [embed, flatIds], { axis: int(0) });
  const presents: BodyOutputs['presents'] = [];
  let lengths: AttentionLengths | undefined;
  for (let i = 0; i < spec.numLayers; i++) {
    const past = io.past(i);
    lengths ??= attentionLengths(g, batchSeq, past.key);
    const layerIo = { hidden, batchSeq, attnBias: io.attnBias(spec.slidingWindows[i]), cos: io.cos, sin: io.sin, past, attentionLengths: lengths };
    const out = emitDecoderLayer(g, spec, spec.layers[i], `/model/layers.${i}`, layerIo, (name) => weights.layer(i, name), {}, attention);
    hidden = out.hidden;
    presents.push(out.present!);
  }
  const normed = norm(g, spec.norm.kind, '/model/norm', hidden, weights.global('final_norm.weight')!, weights.global('final_norm.bias'), spec.norm.eps);
  const lmHead = spec.tiedEmbeddings ? embed : weights.global('lm_head.weight')!;
  const logits2d = linear(g, '/lm_head', normed, lmHead, weights.global('lm_head.bias'));
  const target = g.op('/lm_head/shape/Concat', 'Concat', [batchSeq, g.i64([spec.vocab])], { axis: int(0) });
  const logits = g.op('/lm_head/Reshape', 'Reshape', [logits2d, target]);
  return { logits2d, logits, batchSeq, presents };
}

/**
 * Weights of `weights` named model.<logical name>, bound on first use: raw float32 initializers
 * (onnxruntime can pre-pack them), or graph inputs listed in `feeds` when `asInputs`.
 */
function boundWeights(g: GraphBuilder, spec: ArchSpec, weights: ModelWeights, asInputs: boolean, feeds: Record<string, FeedTensor>): GraphWeights {
  const made = new Map<string, string>();
  const make = (name: string, data: Float32Array, dims: number[]): string => {
    let n = made.get(name);
    if (!n) {
      if (asInputs) {
        feeds[name] = { type: 'float32', data, dims: [...dims] };
        n = g.input(name, ElemType.FLOAT, dims);
      } else {
        n = g.initializer({ name, elemType: ElemType.FLOAT, dims, raw: bytesOf(data) });
      }
      made.set(name, n);
    }
    return n;
  };
  const layerShapes = spec.layers.map((_, i) => new Map(spec.layerWeights(i).map((w) => [w.name, w.shape])));
  return {
    global: (name) => {
      const data = weights.globals.get(name);
      return data && make(`model.${name}`, data, spec.globalWeights().find((w) => w.name === name)!.shape);
    },
    layer: (i, name) => {
      const data = weights.layers[i].get(name);
      return data && make(`model.layers.${i}.${name}`, data, layerShapes[i].get(name)!);
    },
  };
}

/**
 * Above this many weight bytes they are fed as inputs: protobuf caps a message at 2 GiB, and the
 * graph's own nodes and constants need some room.
 */
export const INLINE_WEIGHT_LIMIT = 1.5 * 2 ** 30;

export interface ModelGraph {
  bytes: Uint8Array;
  /** The weights to feed on every run (empty when they are initializers). */
  weightFeeds: Record<string, FeedTensor>;
}

function weightBytes(weights: ModelWeights): number {
  let total = 0;
  for (const map of [weights.globals, ...weights.layers]) for (const data of map.values()) total += data.byteLength;
  return total;
}

export function buildModelGraph(
  spec: ArchSpec,
  weights: ModelWeights,
  attention: AttentionPreference = defaultPreference(),
  inlineLimit = INLINE_WEIGHT_LIMIT,
): ModelGraph {
  const g = new GraphBuilder('amp-prune-causal-lm');
  const weightFeeds: Record<string, FeedTensor> = {};
  const asInputs = weightBytes(weights) > inlineLimit;
  const half = spec.rope.rotaryDim / 2;
  const ids = g.input('input_ids', ElemType.INT64, ['batch', 'seq']);
  const biases = new Map<number | undefined, string>();
  for (const w of new Set(spec.slidingWindows)) {
    biases.set(w, g.input(biasInputName(w), ElemType.FLOAT, ['batch', 1, 1, 'seq', 'past_plus_seq']));
  }
  const cos = g.input('cos', ElemType.FLOAT, ['batch', 1, 'seq', half]);
  const sin = g.input('sin', ElemType.FLOAT, ['batch', 1, 'seq', half]);
  const past = spec.layers.map(({ kvHeads }, i) => ({
    key: g.input(`past_key.${i}`, ElemType.FLOAT, ['batch', kvHeads, 'past', spec.headDim]),
    value: g.input(`past_value.${i}`, ElemType.FLOAT, ['batch', kvHeads, 'past', spec.headDim]),
  }));
  const body = emitCausalLm(g, spec, boundWeights(g, spec, weights, asInputs, weightFeeds), {
    ids,
    attnBias: (w) => biases.get(w)!,
    cos,
    sin,
    past: (i) => past[i],
  }, attention);
  body.presents.forEach((present, i) => {
    const kv = spec.layers[i].kvHeads;
    g.output(present.key, `present_key.${i}`, ElemType.FLOAT, ['batch', kv, 'past_plus_seq', spec.headDim]);
    g.output(present.value, `present_value.${i}`, ElemType.FLOAT, ['batch', kv, 'past_plus_seq', spec.headDim]);
  });
  g.output(body.logits, 'logits', ElemType.FLOAT, ['batch', 'seq', spec.vocab]);
  emitTargetScores(g, body.logits2d, body.batchSeq);
  return { bytes: g.toBytes(VERSION), weightFeeds };
}
