/**
 * Log-likelihood of continuations given contexts — the primitive behind perplexity and
 * multiple-choice evaluation. Requests whose contexts are identical (the choices of one item)
 * share one forward pass over the context: its KV cache is computed once and every continuation
 * runs on top of it, so an item costs context + Σ continuations tokens instead of
 * Σ (context + continuation).
 */
import { padBatch } from './batch.js';
import type { CausalLM } from './causal-lm.js';
import { selectRows } from './kv-cache.js';

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
  /** Compute a context shared by several requests once (default true). */
  sharePrefixes?: boolean;
}

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


const DEFAULT_BATCH_TOKENS = 4096;

/** Index of `tokens` where scoring-relevant input starts if the context is shared: the last context token. */
function sharedPrefixLength(r: LoglikelihoodRequest): number {
  return r.scoreFrom - 1;
}

/** Groups of ≥ 2 requests with the same non-empty shared prefix; the rest run whole. */
function groupByPrefix(requests: readonly LoglikelihoodRequest[]): { groups: number[][]; whole: number[] } {
  const byKey = new Map<string, number[]>();
  requests.forEach((r, i) => {
    if (r.scoreFrom < 1 || r.scoreFrom > r.tokens.length) throw new Error(`loglikelihood: scoreFrom ${r.scoreFrom} outside [1, ${r.tokens.length}]`);
    const p = sharedPrefixLength(r);
    const key = p > 0 ? r.tokens.slice(0, p).join(',') : `#whole${i}`;
    const list = byKey.get(key);
    if (list) list.push(i);
    else byKey.set(key, [i]);
  });
  const groups: number[][] = [];
  const whole: number[] = [];
  for (const list of byKey.values()) (list.length > 1 ? groups.push(list) : whole.push(...list));
  return { groups, whole };
}

/** Fill results for `indices` from a pass whose row b scored `seqs[b]` from its `from[b]`-th token. */
function collect(
  results: LoglikelihoodResult[],
  indices: readonly number[],
  seqs: readonly (readonly number[])[],
  from: readonly number[],
  T: number,
  scored: { logprob: Float32Array; greedy: Float32Array },
): void {
  indices.forEach((i, b) => {
    const seq = seqs[b];
    const tokenLogprobs = new Float64Array(seq.length - from[b]);
    let greedy = true;
    for (let t = from[b]; t < seq.length; t++) {
      tokenLogprobs[t - from[b]] = scored.logprob[b * T + t - 1];
      greedy &&= scored.greedy[b * T + t - 1] === 1;
    }
    results[i] = { logprob: tokenLogprobs.reduce((a, x) => a + x, 0), greedy, tokenLogprobs };
  });
}

function targetsFor(seqs: readonly (readonly number[])[], T: number): BigInt64Array {
  const targets = new BigInt64Array(seqs.length * T);
  seqs.forEach((s, b) => {
    for (let t = 0; t + 1 < s.length; t++) targets[b * T + t] = BigInt(s[t + 1]);
  });
  return targets;
}

export async function loglikelihood(lm: CausalLM, requests: readonly LoglikelihoodRequest[], opts: LoglikelihoodOptions = {}): Promise<LoglikelihoodResult[]> {
  const results: LoglikelihoodResult[] = new Array(requests.length);
  const budget = opts.maxBatchTokens ?? DEFAULT_BATCH_TOKENS;
  let done = 0;
  const report = (n: number) => {
    done += n;
    opts.onProgress?.(done, requests.length);
  };
  const { groups, whole } = opts.sharePrefixes === false ? { groups: [], whole: requests.map((_, i) => i) } : groupByPrefix(requests);

  for (const batch of packByLength(whole.map((i) => requests[i].tokens.length), budget, opts.maxBatchSize)) {
    const indices = batch.map((k) => whole[k]);
    const seqs = indices.map((i) => requests[i].tokens);
    const tokens = padBatch(seqs);
    const out = await lm.run(tokens, { targets: targetsFor(seqs, tokens.seqLen) });
    collect(results, indices, seqs, indices.map((i) => requests[i].scoreFrom), tokens.seqLen, out.targets!);
    report(indices.length);
  }

  // shared contexts: chunks of groups, each chunk one context pass + one continuation pass
  const order = groups.map((g, k) => ({ g, k, len: requests[g[0]].tokens.length })).sort((a, b) => b.len - a.len || a.k - b.k);
  let chunk: number[][] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const prefixes = chunk.map((g) => requests[g[0]].tokens.slice(0, sharedPrefixLength(requests[g[0]])));
    const context = await lm.run(padBatch(prefixes), { cache: true });
    const indices = chunk.flat();
    const rows = chunk.flatMap((g, k) => g.map(() => k));
    const past = selectRows(context.cache!, rows);
    const seqs = indices.map((i) => requests[i].tokens.slice(sharedPrefixLength(requests[i])));
    const tokens = padBatch(seqs, 0, 'right', { length: past.length, mask: past.mask });
    const out = await lm.run(tokens, { past, targets: targetsFor(seqs, tokens.seqLen) });
    collect(results, indices, seqs, seqs.map(() => 1), tokens.seqLen, out.targets!);
    report(indices.length);
    chunk = [];
  };
  let rowsInChunk = 0;
  let widest = 0;
  for (const { g } of order) {
    const width = Math.max(widest, requests[g[0]].tokens.length);
    const rows = rowsInChunk + g.length;
    if (chunk.length > 0 && (rows * width > budget || (opts.maxBatchSize !== undefined && rows > opts.maxBatchSize))) {
      await flush();
      rowsInChunk = 0;
      widest = 0;
    }
    chunk.push(g);
    rowsInChunk += g.length;
    widest = Math.max(widest, ...g.map((i) => requests[i].tokens.length));
  }
  await flush();
  return results;
}
