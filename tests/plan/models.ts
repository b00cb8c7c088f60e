/** Model configs and score builders shared by the plan tests (shapes only; no weights). */
import assert from 'node:assert/strict';
import { specFromConfig } from '../../src/arch/registry.js';
import type { ArchSpec } from '../../src/arch/spec.js';
import { UserError } from '../../src/errors.js';
import type { LayerScores } from '../../src/plan/types.js';

export function llamaSpec(overrides: Record<string, unknown>): ArchSpec {
  return specFromConfig(
    { architectures: ['LlamaForCausalLM'], model_type: 'llama', rms_norm_eps: 1e-5, tie_word_embeddings: false, ...overrides },
    'config.json',
  );
}

/** LLaMA-2-7B: 32 layers of 32 heads (MHA), hidden 4096, intermediate 11008, vocab 32000, untied. */
export const llama2_7b = () =>
  llamaSpec({ num_hidden_layers: 32, num_attention_heads: 32, hidden_size: 4096, intermediate_size: 11008, vocab_size: 32000 });

/** LLaMA-3-8B: 32 heads over 8 KV heads (groups of 4), hidden 4096, intermediate 14336, vocab 128256. */
export const llama3_8b = () =>
  llamaSpec({
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    hidden_size: 4096,
    intermediate_size: 14336,
    vocab_size: 128256,
    rope_theta: 500000,
  });

/** Phi-2: parallel block, plain GELU MLP (fc1/fc2) with biases, biases on q/k/v/dense and lm_head. */
export const phi2 = () =>
  specFromConfig(
    {
      architectures: ['PhiForCausalLM'],
      model_type: 'phi',
      num_hidden_layers: 32,
      num_attention_heads: 32,
      hidden_size: 2560,
      intermediate_size: 10240,
      vocab_size: 51200,
      partial_rotary_factor: 0.4,
      layer_norm_eps: 1e-5,
      hidden_act: 'gelu_new',
      tie_word_embeddings: false,
    },
    'config.json',
  );

/** A tiny LLaMA whose every number can be followed by hand. */
export const tinyLlama = (overrides: Record<string, unknown> = {}) =>
  llamaSpec({ num_hidden_layers: 2, num_attention_heads: 2, hidden_size: 8, intermediate_size: 4, vocab_size: 4, ...overrides });

export function scores(heads: number[], neurons: number[]): LayerScores {
  return { heads: Float64Array.from(heads), neurons: Float64Array.from(neurons) };
}

/** Deterministic pseudo-random scores (an LCG), so tests need no seed library. */
export function pseudoRandomScores(spec: ArchSpec, seed: number): LayerScores[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return spec.layers.map((shape, i) => ({
    heads: Float64Array.from({ length: shape.heads }, () => next() * (i + 1)),
    neurons: Float64Array.from({ length: shape.intermediate }, () => next() + i),
  }));
}

/** Asserts `fn` throws a UserError whose message matches exactly (string) or by pattern. */
export function throwsUserError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    assert.ok(!error.message.includes('\n'), 'a UserError is one line');
    return true;
  });
}
