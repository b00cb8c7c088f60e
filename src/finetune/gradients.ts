/**
 * Loss and LoRA gradients for one batch: the forward streams the layers (engine LayerRunner, with
 * the adapters merged into the weights) and keeps each layer's input; the loss graph turns the last
 * hidden state into the loss and its gradient, chunk by chunk of tokens; then each layer's
 * backward graph runs, last layer first, and hands the gradient to the layer below.
 */
import type { ArchSpec, GlobalWeightName, LayerWeightName } from '../arch/spec.js';
import type { TokenBatch } from '../engine/batch.js';
import { embed, LayerRunner } from '../engine/layer-runner.js';
import { PreparedBatch } from '../engine/prepared-batch.js';
import { OrtSession } from '../engine/session.js';
import type { FeedTensor, SessionOptions } from '../engine/session.js';
import { buildLayerBackwardGraph, buildLayerDropoutForwardGraph, loraGradName, loraInputName, loraMaskName } from './backward-graph.js';
import { adapterKeepBits, expandKeepBits } from './dropout.js';
import { AdapterMerger } from './adapter-merger.js';
import { adapterId, loraScale } from './lora.js';
import type { LoraState } from './lora.js';
import { buildLossGraph, headInputName, headWeights } from './loss-graph.js';
import type { LossOptions } from './loss-graph.js';

/** A model's weights held in memory as float32, by logical name. */
export interface ModelWeights {
  spec: ArchSpec;
  globals: Map<GlobalWeightName, Float32Array>;
  layers: Map<LayerWeightName, Float32Array>[];
}

/** What the loss sees of a batch: per position, the token expected next and its weight (0 = not in the loss). */
export interface LossTargets {
  /** [B·T] */
  ids: Int32Array;
  /** [B·T] */
  weight: Float32Array;
}

/** Gradients of every adapter, shaped like LoraState.layers. */
export type LoraGrads = { a: Float32Array; b: Float32Array }[][];

export function zeroGrads(lora: LoraState): LoraGrads {
  return lora.layers.map((layer) => layer.map((ad) => ({ a: new Float32Array(ad.a.length), b: new Float32Array(ad.b.length) })));
}

export interface GradientOptions {
  loss: LossOptions;
  teacher?: ModelWeights;
  /** Tokens per loss-graph call: bounds the [tokens × vocab] buffers inside onnxruntime. */
  chunkTokens?: number;
  session?: SessionOptions;
}

const DEFAULT_CHUNK = 256;

export class GradientEngine {
  private readonly runner: LayerRunner;
  private readonly teacherRunner?: LayerRunner;
  private readonly backward = new Map<string, Promise<OrtSession>>();
  private readonly dropoutForward = new Map<string, Promise<OrtSession>>();
  private loss?: Promise<OrtSession>;
  private evalLoss?: Promise<OrtSession>;
  private merger?: Promise<AdapterMerger>;

  constructor(
    readonly student: ModelWeights,
    readonly lora: LoraState,
    private readonly opts: GradientOptions,
  ) {
    this.runner = new LayerRunner(student.spec, opts.session);
    if (opts.teacher) this.teacherRunner = new LayerRunner(opts.teacher.spec, opts.session);
  }

  /**
   * The layer weights training runs with while the adapters stay as they are (one optimizer
   * step): merged with the adapters, or under LoRA dropout the base weights (the graphs add the
   * adapter branch themselves). Pass them to every accumulate() of the step.
   */
  async stepWeights(): Promise<Map<LayerWeightName, Float32Array>[]> {
    return this.dropout > 0 ? this.student.layers : this.mergedWeights();
  }

  private async mergedWeights(): Promise<Map<LayerWeightName, Float32Array>[]> {
    this.merger ??= AdapterMerger.create(this.lora.config, this.opts.session);
    const merger = await this.merger;
    const out: Map<LayerWeightName, Float32Array>[] = [];
    for (const [i, base] of this.student.layers.entries()) out.push(await merger.mergedLayer(base, this.lora.layers[i]));
    return out;
  }

  /** LoRA dropout's p; 0 = none (then the forward is the engine's, on merged weights). */
  private get dropout(): number {
    return this.lora.config.dropout ?? 0;
  }

  /** One session per layer shape and adapted set, built by `build` (the backward or the dropout forward). */
  private layerSession(cache: Map<string, Promise<OrtSession>>, layer: number, build: typeof buildLayerBackwardGraph): Promise<OrtSession> {
    const spec = this.student.spec;
    const shape = spec.layers[layer];
    const adapted = this.lora.layers[layer];
    const key = `${shape.heads}/${shape.kvHeads}/${shape.intermediate}/${adapted.map(adapterId).join(',')}`;
    let s = cache.get(key);
    if (!s) {
      const graph = build(spec, layer, { adapted, rank: this.lora.config.rank, scale: loraScale(this.lora.config), dropout: this.dropout > 0 });
      s = OrtSession.create(graph, this.opts.session);
      cache.set(key, s);
    }
    return s;
  }

  /** Every adapter's dropout keep-bits for the micro-batch, per layer (adapterKeepBits). */
  private drawKeepBits(tokens: TokenBatch, noiseKey: number): Uint32Array[][] {
    const rows = tokens.batch * tokens.seqLen;
    return this.lora.layers.map((layer, i) => layer.map((ad, j) => adapterKeepBits(this.dropout, noiseKey, i, j, rows * ad.inFeatures)));
  }

  /** Feeds of layer i's training graphs: weights (merged unless dropout), adapters, and with dropout each adapter's mask. */
  private layerFeeds(i: number, tokens: TokenBatch, batch: PreparedBatch, hidden: Float32Array, weights: Map<LayerWeightName, Float32Array>, keepBits?: Uint32Array[]): Record<string, FeedTensor> {
    const { spec } = this.student;
    const rank = this.lora.config.rank;
    const feeds: Record<string, FeedTensor> = {
      hidden: { type: 'float32', data: hidden, dims: [tokens.batch, tokens.seqLen, spec.hidden] },
      attn_bias: batch.attnBias(spec.slidingWindows[i]),
      cos: batch.cos,
      sin: batch.sin,
    };
    for (const w of spec.layerWeights(i)) feeds[w.name] = { type: 'float32', data: weights.get(w.name)!, dims: w.shape };
    const rows = tokens.batch * tokens.seqLen;
    this.lora.layers[i].forEach((ad, j) => {
      feeds[loraInputName('a', ad)] = { type: 'float32', data: ad.a, dims: [rank, ad.inFeatures] };
      feeds[loraInputName('b', ad)] = { type: 'float32', data: ad.b, dims: [ad.outFeatures, rank] };
      if (keepBits) feeds[loraMaskName(ad)] = { type: 'float32', data: expandKeepBits(keepBits[j], this.dropout, rows * ad.inFeatures), dims: [rows, ad.inFeatures] };
    });
    return feeds;
  }

  /** The student's forward under LoRA dropout, keeping every layer's input. */
  private async dropoutForwardPass(tokens: TokenBatch, keepBits: Uint32Array[][], keep: Float32Array[]): Promise<Float32Array> {
    const { spec } = this.student;
    const batch = new PreparedBatch(spec, tokens);
    let hidden = embed(this.student.globals.get('embed.weight')!, tokens.ids, spec.hidden);
    for (let i = 0; i < spec.numLayers; i++) {
      keep.push(hidden);
      const session = await this.layerSession(this.dropoutForward, i, buildLayerDropoutForwardGraph);
      hidden = (await session.run(this.layerFeeds(i, tokens, batch, hidden, this.student.layers[i], keepBits[i]))).hidden_out.data;
    }
    return hidden;
  }

  private lossSession(): Promise<OrtSession> {
    this.loss ??= OrtSession.create(buildLossGraph(this.student.spec, { ...this.opts.loss, teacher: this.opts.teacher?.spec }), this.opts.session);
    return this.loss;
  }

  /** Cross-entropy alone, without gradients: what held-out evaluation reads. */
  private evalSession(): Promise<OrtSession> {
    this.evalLoss ??= OrtSession.create(buildLossGraph(this.student.spec, { temperature: 1, ceMix: 0, gradient: false }), this.opts.session);
    return this.evalLoss;
  }

  /** The head weights (final norm, lm_head) of `model` as the loss graphs' feeds. */
  private headFeeds(model: ModelWeights, role: 'student' | 'teacher'): Record<string, FeedTensor> {
    const shapes = new Map(model.spec.globalWeights().map((w) => [w.name, w.shape]));
    return Object.fromEntries(headWeights(model.spec).map((n) => [headInputName(role, n), { type: 'float32', data: model.globals.get(n)!, dims: shapes.get(n)! } as FeedTensor]));
  }

  /**
   * Σ_n w_n·CE_n over the batches of the student with the adapters merged (once for all of
   * them), forward only: no dropout, no teacher, nothing kept for a backward. Held-out loss as
   * the merged checkpoint will score it.
   */
  async evaluate(batches: readonly { tokens: TokenBatch; targets: LossTargets }[]): Promise<number> {
    const { spec } = this.student;
    const merged = await this.mergedWeights();
    const session = await this.evalSession();
    const heads = this.headFeeds(this.student, 'student');
    const d = spec.hidden;
    const chunk = this.opts.chunkTokens ?? DEFAULT_CHUNK;
    let lossSum = 0;
    for (const { tokens, targets } of batches) {
      const last = await this.forward(this.student, this.runner, tokens, (i) => merged[i]);
      const N = tokens.batch * tokens.seqLen;
      for (let start = 0; start < N; start += chunk) {
        const end = Math.min(N, start + chunk);
        const out = await session.run({
          ...heads,
          hidden: { type: 'float32', data: last.subarray(start * d, end * d), dims: [end - start, d] },
          targets: { type: 'int64', data: BigInt64Array.from(targets.ids.subarray(start, end), (t) => BigInt(Math.max(t, 0))), dims: [end - start] },
          token_weight: { type: 'float32', data: targets.weight.subarray(start, end), dims: [end - start] },
        });
        lossSum += out.loss.data[0];
      }
    }
    return lossSum;
  }

  /** Last hidden state of `model` on the batch, and (when asked) every layer's input. */
  private async forward(model: ModelWeights, runner: LayerRunner, tokens: TokenBatch, layerWeights: (i: number) => Map<LayerWeightName, Float32Array>, keep?: Float32Array[]): Promise<Float32Array> {
    const batch = new PreparedBatch(model.spec, tokens);
    let hidden = embed(model.globals.get('embed.weight')!, tokens.ids, model.spec.hidden);
    for (let i = 0; i < model.spec.numLayers; i++) {
      keep?.push(hidden);
      hidden = (await runner.run(i, hidden, batch, layerWeights(i))).hidden;
    }
    return hidden;
  }

  /**
   * Σ_n w_n·ℓ_n over the batch, with its gradient w.r.t. every adapter added into `grads`.
   * The caller picks the weights (e.g. 1 / tokens in the optimizer step) so accumulation is a sum.
   * With LoRA dropout, `noiseKey` picks the masks (adapterMask): the same key, the same masks.
   * `weights`: stepWeights() of the adapters as they are now (made here when not given).
   */
  async accumulate(tokens: TokenBatch, targets: LossTargets, grads: LoraGrads, noiseKey = 0, weights?: Map<LayerWeightName, Float32Array>[]): Promise<number> {
    const { spec } = this.student;
    weights ??= await this.stepWeights();
    const keepBits = this.dropout > 0 ? this.drawKeepBits(tokens, noiseKey) : undefined;
    const inputs: Float32Array[] = [];
    const last = keepBits ? await this.dropoutForwardPass(tokens, keepBits, inputs) : await this.forward(this.student, this.runner, tokens, (i) => weights[i], inputs);
    const teacher = this.opts.teacher;
    const teacherLast = teacher ? await this.forward(teacher, this.teacherRunner!, tokens, (i) => teacher.layers[i]) : undefined;

    const N = tokens.batch * tokens.seqLen;
    const d = spec.hidden;
    let grad: Float32Array = new Float32Array(N * d);
    let lossSum = 0;
    const lossSession = await this.lossSession();
    const heads = { ...this.headFeeds(this.student, 'student'), ...(teacher ? this.headFeeds(teacher, 'teacher') : {}) };
    const chunk = this.opts.chunkTokens ?? DEFAULT_CHUNK;
    for (let start = 0; start < N; start += chunk) {
      const end = Math.min(N, start + chunk);
      let any = false;
      for (let n = start; n < end && !any; n++) any = targets.weight[n] !== 0;
      if (!any) continue; // nothing of this chunk is in the loss: its gradient is zero
      const rows = end - start;
      const feeds: Record<string, FeedTensor> = {
        ...heads,
        hidden: { type: 'float32', data: last.subarray(start * d, end * d), dims: [rows, d] },
        targets: { type: 'int64', data: BigInt64Array.from(targets.ids.subarray(start, end), (t) => BigInt(Math.max(t, 0))), dims: [rows] },
        token_weight: { type: 'float32', data: targets.weight.subarray(start, end), dims: [rows] },
      };
      if (teacher) feeds.teacher_hidden = { type: 'float32', data: teacherLast!.subarray(start * teacher.spec.hidden, end * teacher.spec.hidden), dims: [rows, teacher.spec.hidden] };
      const out = await lossSession.run(feeds);
      lossSum += out.loss.data[0];
      grad.set(out.grad_hidden.data, start * d);
    }

    const batch = new PreparedBatch(spec, tokens);
    for (let i = spec.numLayers - 1; i >= 0; i--) {
      const adapters = this.lora.layers[i];
      const feeds = this.layerFeeds(i, tokens, batch, inputs[i], weights[i], keepBits?.[i]);
      feeds.grad_out = { type: 'float32', data: grad, dims: [tokens.batch, tokens.seqLen, d] };
      const out = await (await this.layerSession(this.backward, i, buildLayerBackwardGraph)).run(feeds);
      adapters.forEach((ad, j) => {
        addInto(grads[i][j].a, out[loraGradName('a', ad)].data);
        addInto(grads[i][j].b, out[loraGradName('b', ad)].data);
      });
      grad = out.grad_hidden.data;
    }
    return lossSum;
  }

  async close(): Promise<void> {
    await this.runner.close();
    await this.teacherRunner?.close();
    for (const s of [...this.backward.values(), ...this.dropoutForward.values()]) await (await s).release();
    if (this.loss) await (await this.loss).release();
    if (this.evalLoss) await (await this.evalLoss).release();
    if (this.merger) await (await this.merger).close();
  }
}

function addInto(target: Float32Array, source: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i] += source[i];
}
