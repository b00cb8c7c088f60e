/** The per-batch graph inputs (bias, RoPE tables, token weights) for a model, computed once per batch. */
import type { ArchSpec } from '../arch/spec.js';
import { attentionBias, ropeInputs, tokenWeights } from './batch.js';
import type { TokenBatch } from './batch.js';
import type { FeedTensor } from './session.js';

export class PreparedBatch {
  private readonly biases = new Map<number | undefined, Float32Array>();
  readonly cos: FeedTensor;
  readonly sin: FeedTensor;
  readonly tokenWeight: FeedTensor;

  constructor(
    readonly spec: ArchSpec,
    readonly tokens: TokenBatch,
  ) {
    const { cos, sin } = ropeInputs(spec.rope, tokens);
    const dims = [tokens.batch, 1, tokens.seqLen, spec.rope.rotaryDim / 2];
    this.cos = { type: 'float32', data: cos, dims };
    this.sin = { type: 'float32', data: sin, dims };
    this.tokenWeight = { type: 'float32', data: tokenWeights(tokens), dims: [tokens.batch, tokens.seqLen] };
  }

  /** [B, 1, 1, T, T] bias for a layer with this sliding window (undefined = full causal). */
  attnBias(window: number | undefined): FeedTensor {
    let data = this.biases.get(window);
    if (!data) {
      data = attentionBias(this.tokens, window);
      this.biases.set(window, data);
    }
    const T = this.tokens.seqLen;
    return { type: 'float32', data, dims: [this.tokens.batch, 1, 1, T, (this.tokens.past?.length ?? 0) + T] };
  }

  /** Distinct sliding windows used by the model's layers (undefined = full attention). */
  windows(): (number | undefined)[] {
    return [...new Set(this.spec.slidingWindows)];
  }

  inputIds(): FeedTensor {
    return { type: 'int64', data: BigInt64Array.from(this.tokens.ids, (x) => BigInt(x)), dims: [this.tokens.batch, this.tokens.seqLen] };
  }
}

/** Graph input name of the attention bias for a sliding window. */
export function biasInputName(window: number | undefined): string {
  return window === undefined ? 'attn_bias' : `attn_bias_window_${window}`;
}
