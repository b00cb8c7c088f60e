import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planShards, shardFileName, shardIndex } from '../../src/export/shards.js';
import { f32Tensors } from './helpers.js';

/** Shard plan as lists of tensor names. */
function namesPerShard(sizes: number[], maxShardBytes?: number): string[][] {
  return planShards(f32Tensors(sizes).entries, maxShardBytes).map((shard) => shard.tensors.map((t) => t.name));
}

describe('planShards', () => {
  test('no limit, or everything within it: one model.safetensors', () => {
    assert.deepEqual(planShards(f32Tensors([4, 4]).entries).map((s) => s.fileName), ['model.safetensors']);
    assert.deepEqual(planShards(f32Tensors([4, 4]).entries, 32).map((s) => s.fileName), ['model.safetensors']);
  });

  test('greedy in write order, splitting when the next tensor would pass the limit', () => {
    // 16-byte tensors, limit 40: two per shard.
    assert.deepEqual(namesPerShard([4, 4, 4, 4, 4], 40), [['t0', 't1'], ['t2', 't3'], ['t4']]);
  });

  test('a tensor larger than the limit gets its own shard, in its write position', () => {
    assert.deepEqual(namesPerShard([1, 100, 1, 1], 16), [['t0'], ['t1'], ['t2', 't3']]);
  });

  test('shards are named as transformers names them', () => {
    const shards = planShards(f32Tensors([4, 4, 4]).entries, 16);
    assert.deepEqual(shards.map((s) => s.fileName), ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    assert.equal(shardFileName(12, 123), 'model-00012-of-00123.safetensors');
  });

  test('a checkpoint without tensors is one empty model.safetensors', () => {
    assert.deepEqual(planShards([], 10), [{ fileName: 'model.safetensors', tensors: [] }]);
  });

  test('refuses a limit that is not positive', () => {
    assert.throws(() => planShards([], 0), /maxShardBytes must be positive/);
    assert.throws(() => planShards([], NaN), /maxShardBytes must be positive/);
  });
});

describe('shardIndex', () => {
  test('total size in bytes, total parameters in elements, every tensor mapped to its shard', () => {
    const shards = planShards([...f32Tensors([3, 5]).entries, { name: 'h', dtype: 'BF16', shape: [2, 3] }], 20);
    assert.deepEqual(shardIndex(shards), {
      metadata: { total_parameters: 14, total_size: 12 + 20 + 12 },
      weight_map: { t0: 'model-00001-of-00003.safetensors', t1: 'model-00002-of-00003.safetensors', h: 'model-00003-of-00003.safetensors' },
    });
  });
});
