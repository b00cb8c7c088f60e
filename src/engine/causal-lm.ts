/** A loaded model ready to produce logits: checkpoint + whole-model graph + one session. */
import type { ArchSpec } from '../arch/spec.js';
import { padBatch } from './batch.js';
import type { TokenBatch } from './batch.js';
import { openCheckpoint, WeightReader } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { buildModelGraph } from './model.js';
import { biasInputName, PreparedBatch } from './prepared-batch.js';
import { OrtSession } from './session.js';
import type { FeedTensor, OutputTensor, SessionOptions } from './session.js';

export interface LoglikelihoodRequest {
  /** Context and continuation, as one token sequence. */
  tokens: readonly number[];
  /** Index of the first scored token (the continuation's start); at least 1. */
  scoreFrom: number;
}

export interface LoglikelihoodResult {
  logprob: number;
  greedy: boolean;
  tokenLogprobs: Float64Array;
}

export interface LoglikelihoodOptions {
  /** Upper bound on B·T per forward pass. */
  maxBatchTokens?: number;
  maxBatchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

const DEFAULT_BATCH_TOKENS = 4096;

/** Indices grouped into batches of similar length (longest first) under a padded-token budget. */
export function packByLength(lengths: readonly number[], maxTokens: number, maxBatch = Infinity): number[][] {
  const order = lengths.map((len, i) => ({ len, i })).sort((a, b) => b.len - a.len || a.i - b.i);
  const batches: number[][] = [];
  let current: number[] = [];
  let longest = 0;
  for (const { len, i } of order) {
    const width = Math.max(longest, len);
    if (current.length > 0 && (width * (current.length + 1) > maxTokens || current.length >= maxBatch)) {
      batches.push(current);
      current = [];
    }
    longest = current.length === 0 ? len : Math.max(longest, len);
    current.push(i);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export class CausalLM {
  private constructor(
    readonly checkpoint: Checkpoint,
    private readonly session: OrtSession,
  ) {}

  get spec(): ArchSpec {
    return this.checkpoint.spec;
  }

  static async load(dir: string, opts: SessionOptions = {}): Promise<CausalLM> {
    const checkpoint = await openCheckpoint(dir);
    const { spec, store } = checkpoint;
    const reader = new WeightReader(store);
    const globals = await reader.globals(spec);
    const layers = [];
    for (let i = 0; i < spec.numLayers; i++) layers.push(await reader.layer(spec, i));
    const graph = buildModelGraph(spec, { globals, layers });
    const session = await OrtSession.create(graph, opts);
    return new CausalLM(checkpoint, session);
  }

  private feeds(tokens: TokenBatch, targets?: BigInt64Array): Record<string, FeedTensor> {
    const batch = new PreparedBatch(this.spec, tokens);
    const feeds: Record<string, FeedTensor> = { input_ids: batch.inputIds(), cos: batch.cos, sin: batch.sin };
    for (const w of batch.windows()) feeds[biasInputName(w)] = batch.attnBias(w);
    feeds.targets = { type: 'int64', data: targets ?? new BigInt64Array(tokens.ids.length), dims: [tokens.batch, tokens.seqLen] };
    return feeds;
  }

  /** Logits [B, T, V] for a padded batch. */
  async logits(tokens: TokenBatch): Promise<OutputTensor> {
    const out = await this.session.run(this.feeds(tokens), ['logits']);
    return out.logits;
  }

  /** Longest sequence the model was trained for (config max_position_embeddings), if it says. */
  get maxLength(): number | undefined {
    const v = this.checkpoint.config.max_position_embeddings;
    return typeof v === 'number' ? v : undefined;
  }

  /**
   * For each request: Σ log p(tokens[t] | tokens[<t]) over t in [scoreFrom, length), each scored
   * token's log-probability, and whether every scored token is the model's argmax (lm-eval's
   * `is_greedy`). Requests are packed into right-padded batches of similar length.
   */
  async loglikelihood(requests: readonly LoglikelihoodRequest[], opts: LoglikelihoodOptions = {}): Promise<LoglikelihoodResult[]> {
    const results: LoglikelihoodResult[] = new Array(requests.length);
    const batches = packByLength(requests.map((r) => r.tokens.length), opts.maxBatchTokens ?? DEFAULT_BATCH_TOKENS, opts.maxBatchSize);
    let done = 0;
    for (const indices of batches) {
      const seqs = indices.map((i) => requests[i].tokens);
      const tokens = padBatch(seqs);
      const T = tokens.seqLen;
      const targets = new BigInt64Array(tokens.batch * T);
      seqs.forEach((s, b) => {
        for (let t = 0; t + 1 < s.length; t++) targets[b * T + t] = BigInt(s[t + 1]);
      });
      const out = await this.session.run(this.feeds(tokens, targets), ['target_logprob', 'target_greedy']);
      indices.forEach((i, b) => {
        const { tokens: seq, scoreFrom } = requests[i];
        if (scoreFrom < 1 || scoreFrom > seq.length) throw new Error(`loglikelihood: scoreFrom ${scoreFrom} outside [1, ${seq.length}]`);
        const tokenLogprobs = new Float64Array(seq.length - scoreFrom);
        let greedy = true;
        for (let t = scoreFrom; t < seq.length; t++) {
          tokenLogprobs[t - scoreFrom] = out.target_logprob.data[b * T + t - 1];
          greedy &&= out.target_greedy.data[b * T + t - 1] === 1;
        }
        results[i] = { logprob: tokenLogprobs.reduce((a, x) => a + x, 0), greedy, tokenLogprobs };
      });
      done += indices.length;
      opts.onProgress?.(done, requests.length);
    }
    return results;
  }

  async close(): Promise<void> {
    await this.session.release();
    await this.checkpoint.store.close();
  }
}
