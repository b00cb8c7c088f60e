/** A loaded model ready to produce logits: checkpoint + whole-model graph + one session. */
import type { ArchSpec } from '../arch/spec.js';
import type { TokenBatch } from './batch.js';
import { emptyCache } from './kv-cache.js';
import type { KvCache } from './kv-cache.js';
import { loglikelihood } from './likelihood.js';
import type { LoglikelihoodOptions, LoglikelihoodRequest, LoglikelihoodResult } from './likelihood.js';

export type { KvCache } from './kv-cache.js';
export { packByLength } from './likelihood.js';
export type { LoglikelihoodOptions, LoglikelihoodRequest, LoglikelihoodResult } from './likelihood.js';
import { openCheckpoint, WeightReader } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { buildModelGraph } from './model.js';
import { biasInputName, PreparedBatch } from './prepared-batch.js';
import { OrtSession } from './session.js';
import type { FeedTensor, OutputTensor, SessionOptions } from './session.js';

export interface RunOptions {
  past?: KvCache;
  targets?: BigInt64Array;
  logits?: boolean;
  cache?: boolean;
}

export interface RunOutput {
  logits?: OutputTensor;
  /** [B, T] each: log p(targets[b, t] | tokens up to t), and 1 where that target is the argmax. */
  targets?: { logprob: Float32Array; greedy: Float32Array };
  cache?: KvCache;
}

export interface LoadOptions extends SessionOptions {
  /** Weights above this many bytes in all are fed as inputs, not stored in the graph (default: model.ts INLINE_WEIGHT_LIMIT). */
  inlineWeightLimit?: number;
}

export class CausalLM {
  private constructor(
    readonly checkpoint: Checkpoint,
    private readonly session: OrtSession,
    private readonly weightFeeds: Record<string, FeedTensor>,
  ) {}

  get spec(): ArchSpec {
    return this.checkpoint.spec;
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<CausalLM> {
    const checkpoint = await openCheckpoint(dir);
    const { spec, store } = checkpoint;
    const reader = new WeightReader(store);
    const globals = await reader.globals(spec);
    const layers = [];
    for (let i = 0; i < spec.numLayers; i++) layers.push(await reader.layer(spec, i));
    const graph = buildModelGraph(spec, { globals, layers }, opts.attention, opts.inlineWeightLimit);
    const session = await OrtSession.create(graph.bytes, opts);
    return new CausalLM(checkpoint, session, graph.weightFeeds);
  }

  private feeds(tokens: TokenBatch, targets?: BigInt64Array): Record<string, FeedTensor> {
    const batch = new PreparedBatch(this.spec, tokens);
    const feeds: Record<string, FeedTensor> = { ...this.weightFeeds, input_ids: batch.inputIds(), cos: batch.cos, sin: batch.sin };
    for (const w of batch.windows()) feeds[biasInputName(w)] = batch.attnBias(w);
    feeds.targets = { type: 'int64', data: targets ?? new BigInt64Array(tokens.ids.length), dims: [tokens.batch, tokens.seqLen] };
    return feeds;
  }

  /** Logits [B, T, V] for a padded batch. */
  async logits(tokens: TokenBatch): Promise<OutputTensor> {
    return (await this.run(tokens, { logits: true })).logits!;
  }

  /** Longest sequence the model was trained for (config max_position_embeddings), if it says. */
  get maxLength(): number | undefined {
    const v = this.checkpoint.config.max_position_embeddings;
    return typeof v === 'number' ? v : undefined;
  }

  /**
   * One forward pass: optional KV cache in (its tokens precede `tokens`; build the batch with
   * padBatch(..., cache) so positions and masks continue it), and any of: logits, per-position
   * target log-probabilities (targets[b, t] = the token expected after position t), the extended cache.
   */
  async run(tokens: TokenBatch, opts: RunOptions = {}): Promise<RunOutput> {
    const feeds = this.feeds(tokens, opts.targets);
    const past = opts.past ?? emptyCache(this.spec, tokens.batch);
    if (past.batch !== tokens.batch) throw new Error(`run: cache batch ${past.batch} != ${tokens.batch}`);
    if ((tokens.past?.length ?? 0) !== past.length) throw new Error('run: build the batch with padBatch(..., cache) to continue a cache');
    this.spec.layers.forEach((shape, i) => {
      const dims = [past.batch, shape.kvHeads, past.length, this.spec.headDim];
      feeds[`past_key.${i}`] = { type: 'float32', data: past.keys[i], dims };
      feeds[`past_value.${i}`] = { type: 'float32', data: past.values[i], dims };
    });
    const wanted: string[] = [];
    if (opts.logits) wanted.push('logits');
    if (opts.targets) wanted.push('target_logprob', 'target_greedy');
    if (opts.cache) this.spec.layers.forEach((_, i) => wanted.push(`present_key.${i}`, `present_value.${i}`));
    const out = await this.session.run(feeds, wanted);
    const result: RunOutput = {};
    if (opts.logits) result.logits = out.logits;
    if (opts.targets) result.targets = { logprob: out.target_logprob.data, greedy: out.target_greedy.data };
    if (opts.cache) {
      const T = tokens.seqLen;
      const mask = new Uint8Array(tokens.batch * (past.length + T));
      for (let b = 0; b < tokens.batch; b++) {
        mask.set(past.mask.subarray(b * past.length, (b + 1) * past.length), b * (past.length + T));
        mask.set(tokens.mask.subarray(b * T, (b + 1) * T), b * (past.length + T) + past.length);
      }
      result.cache = {
        batch: tokens.batch,
        length: past.length + T,
        mask,
        keys: this.spec.layers.map((_, i) => out[`present_key.${i}`].data),
        values: this.spec.layers.map((_, i) => out[`present_value.${i}`].data),
      };
    }
    return result;
  }

  /**
   * For each request: Σ log p(tokens[t] | tokens[<t]) over t in [scoreFrom, length), each scored
   * token's log-probability, and whether every scored token is the model's argmax (lm-eval's
   * `is_greedy`). Requests sharing their context are run with the context computed once.
   */
  loglikelihood(requests: readonly LoglikelihoodRequest[], opts: LoglikelihoodOptions = {}): Promise<LoglikelihoodResult[]> {
    return loglikelihood(this, requests, opts);
  }

  async close(): Promise<void> {
    await this.session.release();
    await this.checkpoint.store.close();
  }
}
