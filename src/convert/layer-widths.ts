/**
 * Each block's head count, KV head count and FFN width from a GGUF's metadata. Most architectures
 * state one of each for every block; deci (llama.cpp's Nemotron-NAS graph, which our export writes
 * for per-layer-width pruned models) may list them per block, and llama.cpp reads either form
 * (get_key_or_arr), so both are accepted there.
 *
 * Nemotron files use a count of 0 for blocks whose attention or FFN was removed or replaced by one
 * matrix; such blocks have no LlamaForCausalLM counterpart, and our engine needs every width to be
 * a positive integer, so they are refused by name rather than converted into something else.
 */
import type { LayerShape } from '../arch/spec.js';
import { FileError } from '../errors.js';
import type { GgufMetadata } from '../io/gguf/metadata.js';
import type { GgufArchitecture } from './gguf-architectures.js';

/**
 * One entry per block. For single-value architectures the values are returned as stated, unchecked
 * (llama-layout.ts checks them with the other scalars); per-layer ones are checked here, per block.
 */
export function readLayerWidths(metadata: GgufMetadata, architecture: string, arch: GgufArchitecture, layers: number): LayerShape[] {
  const key = (name: string) => `${architecture}.${name}`;
  if (!arch.perLayerWidths) {
    const heads = metadata.requireInteger(key('attention.head_count'));
    const shape = { heads, kvHeads: metadata.integer(key('attention.head_count_kv')) ?? heads, intermediate: metadata.requireInteger(key('feed_forward_length')) };
    return Array.from({ length: Math.max(layers, 0) }, () => ({ ...shape }));
  }
  const file = metadata.file;
  const perBlock = (name: string, fallback?: readonly number[]): readonly number[] => {
    const stated = metadata.integerOrIntegers(key(name));
    if (stated === undefined) {
      if (fallback) return fallback;
      throw new FileError(file, `metadata ${key(name)} is missing`);
    }
    if (typeof stated === 'number') return Array.from({ length: layers }, () => stated);
    if (stated.length !== layers) throw new FileError(file, `metadata ${key(name)} lists ${stated.length} value${stated.length === 1 ? '' : 's'} for ${key('block_count')} ${layers}`);
    return stated;
  };
  const heads = perBlock('attention.head_count');
  // llama.cpp: without head_count_kv, every block has as many KV heads as heads
  const kvHeads = perBlock('attention.head_count_kv', heads);
  const intermediate = perBlock('feed_forward_length');
  const cannotRun = "which our engine cannot run (every layer needs attention heads, KV heads and an FFN)";
  return heads.map((h, i) => {
    const shape = { heads: h, kvHeads: kvHeads[i], intermediate: intermediate[i] };
    const at = (name: string) => `${key(name)}[${i}]`;
    for (const [name, value] of [['attention.head_count', shape.heads], ['attention.head_count_kv', shape.kvHeads], ['feed_forward_length', shape.intermediate]] as const) {
      if (value < 0) throw new FileError(file, `metadata gives an impossible ${at(name)} of ${value}`);
    }
    if (shape.heads === 0) throw new FileError(file, `layer ${i} has no attention (${at('attention.head_count')} 0: a Nemotron attention-free layer), ${cannotRun}`);
    if (shape.kvHeads === 0) throw new FileError(file, `layer ${i} has ${at('attention.head_count_kv')} 0 with ${shape.heads} heads (a Nemotron "linear attention" layer: attn_output alone), ${cannotRun}`);
    if (shape.intermediate === 0) throw new FileError(file, `layer ${i} has no FFN (${at('feed_forward_length')} 0: a Nemotron FFN-free layer), ${cannotRun}`);
    if (shape.heads % shape.kvHeads !== 0) throw new FileError(file, `${at('attention.head_count')} ${shape.heads} is not a multiple of ${at('attention.head_count_kv')} ${shape.kvHeads}`);
    return shape;
  });
}

