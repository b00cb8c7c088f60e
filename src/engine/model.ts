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

export function buildModelGraph(spec: ArchSpec, weights: ModelWeights, inlineLimit = INLINE_WEIGHT_LIMIT): ModelGraph {
  const g = new GraphBuilder('amp-prune-causal-lm');
  const weightFeeds: Record<string, FeedTensor> = {};
  const asInputs = weightBytes(weights) > inlineLimit;
  const bind = (name: string, dims: readonly number[], data: Float32Array): string => {
    if (!asInputs) return g.initializer({ name, elemType: ElemType.FLOAT, dims: [...dims], raw: bytesOf(data) });
    weightFeeds[name] = { type: 'float32', data, dims: [...dims] };
    return g.input(name, ElemType.FLOAT, dims);
  };
  const half = spec.rope.rotaryDim / 2;
  const ids = g.input('input_ids', ElemType.INT64, ['batch', 'seq']);
  const biases = new Map<number | undefined, string>();
  for (const w of new Set(spec.slidingWindows)) {
    biases.set(w, g.input(biasInputName(w), ElemType.FLOAT, ['batch', 1, 1, 'seq', 'past_plus_seq']));
  }
  const cos = g.input('cos', ElemType.FLOAT, ['batch', 1, 'seq', half]);
  const sin = g.input('sin', ElemType.FLOAT, ['batch', 1, 'seq', half]);

  const global = (name: GlobalWeightName): string | undefined => {
    const data = weights.globals.get(name);
    if (!data) return undefined;
    const shape = spec.globalWeights().find((w) => w.name === name)!.shape;
    return bind(`model.${name}`, shape, data);
  };
  const embed = global('embed.weight')!;
  const batchSeq = g.op('/model/shape/Shape', 'Shape', [ids]);
  const flatIds = g.op('/model/embed_tokens/Reshape', 'Reshape', [ids, g.i64([-1])]);
  let hidden = g.op('/model/embed_tokens/Gather', 'Gather', [embed, flatIds], { axis: int(0) });

  for (let i = 0; i < spec.numLayers; i++) {
    const layerWeights = weights.layers[i];
    const shapes = new Map(spec.layerWeights(i).map((w) => [w.name, w.shape]));
    const names = new Map<LayerWeightName, string>();
    const weight = (name: LayerWeightName) => {
      const data = layerWeights.get(name);
      if (!data) return undefined;
      let n = names.get(name);
      if (!n) {
        n = bind(`model.layers.${i}.${name}`, shapes.get(name)!, data);
        names.set(name, n);
      }
      return n;
    };
    const kv = spec.layers[i].kvHeads;
    const past = {
      key: g.input(`past_key.${i}`, ElemType.FLOAT, ['batch', kv, 'past', spec.headDim]),
      value: g.input(`past_value.${i}`, ElemType.FLOAT, ['batch', kv, 'past', spec.headDim]),
    };
    const io = { hidden, batchSeq, attnBias: biases.get(spec.slidingWindows[i])!, cos, sin, past };
    const out = emitDecoderLayer(g, spec, spec.layers[i], `/model/layers.${i}`, io, weight);
    hidden = out.hidden;
    g.output(out.present!.key, `present_key.${i}`, ElemType.FLOAT, ['batch', kv, 'past_plus_seq', spec.headDim]);
    g.output(out.present!.value, `present_value.${i}`, ElemType.FLOAT, ['batch', kv, 'past_plus_seq', spec.headDim]);
  }

  const normed = norm(g, spec.norm.kind, '/model/norm', hidden, global('final_norm.weight')!, global('final_norm.bias'), spec.norm.eps);
  const lmHead = spec.tiedEmbeddings ? embed : global('lm_head.weight')!;
  const logits2d = linear(g, '/lm_head', normed, lmHead, global('lm_head.bias'));
  const target = g.op('/lm_head/shape/Concat', 'Concat', [batchSeq, g.i64([spec.vocab])], { axis: int(0) });
  g.output(g.op('/lm_head/Reshape', 'Reshape', [logits2d, target]), 'logits', ElemType.FLOAT, ['batch', 'seq', spec.vocab]);
  emitTargetScores(g, logits2d, batchSeq);
  return { bytes: g.toBytes(VERSION), weightFeeds };
}
