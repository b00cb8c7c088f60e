/**
 * How a checkpoint's tensors are split into safetensors files, and the index that lists them,
 * following transformers' save_pretrained (huggingface_hub's split_state_dict_into_shards).
 */

import { ELEMENT_SIZE } from '../io/dtype.js';
import { type TensorEntry, elementCount } from '../io/safetensors.js';
import type { JsonValue } from './json.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export interface Shard {
  fileName: string;
  /** In write order. */
  tensors: readonly TensorEntry[];
}

export function tensorBytes(tensor: TensorEntry): number {
  return elementCount(tensor.shape) * ELEMENT_SIZE[tensor.dtype];
}

/**
 * Greedy split at tensor boundaries: a shard is closed when the next tensor would push it past
 * `maxShardBytes`; a tensor larger than the limit gets a shard of its own. Unlike huggingface_hub,
 * that oversized shard stays in its write position, so shards are written strictly one after
 * another. One shard means no sharding: a single `model.safetensors` and no index.
 */
export function planShards(tensors: readonly TensorEntry[], maxShardBytes = Infinity): Shard[] {
  if (!(maxShardBytes > 0)) throw new Error(`maxShardBytes must be positive, got ${maxShardBytes}`);
  const groups: TensorEntry[][] = [];
  let current: TensorEntry[] = [];
  let currentBytes = 0;
  for (const tensor of tensors) {
    const bytes = tensorBytes(tensor);
    if (current.length > 0 && currentBytes + bytes > maxShardBytes) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(tensor);
    currentBytes += bytes;
  }
  // A model with no tensors still gets its (empty) model.safetensors.
  if (current.length > 0 || groups.length === 0) groups.push(current);
  if (groups.length === 1) return [{ fileName: SINGLE_FILE, tensors: groups[0] }];
  return groups.map((group, i) => ({ fileName: shardFileName(i + 1, groups.length), tensors: group }));
}

/** `model-00001-of-00003.safetensors`, as transformers names shards. */
export function shardFileName(number: number, count: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `model-${pad(number)}-of-${pad(count)}.safetensors`;
}

/**
 * The content of model.safetensors.index.json as transformers 5 writes it: total_size in bytes of
 * tensor data, total_parameters in elements, and every tensor's shard (stableJson sorts the keys).
 */
export function shardIndex(shards: readonly Shard[]): JsonValue {
  let totalSize = 0;
  let totalParameters = 0;
  const entries: [string, string][] = [];
  for (const shard of shards) {
    for (const tensor of shard.tensors) {
      totalSize += tensorBytes(tensor);
      totalParameters += elementCount(tensor.shape);
      entries.push([tensor.name, shard.fileName]);
    }
  }
  return {
    metadata: { total_parameters: totalParameters, total_size: totalSize },
    weight_map: Object.fromEntries(entries),
  };
}
