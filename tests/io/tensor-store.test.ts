import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FileError } from '../../src/errors.js';
import { fromFloat32 } from '../../src/io/dtype.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { TensorStore } from '../../src/io/tensor-store.js';
import { f32Bytes, rawSafetensors, rejectsWithFileError, tempDir } from './helpers.js';

const INDEX = 'model.safetensors.index.json';

/** A two-shard model folder: embed + layer 0 in shard 1, layer 1 + norm in shard 2. */
async function shardedModel(): Promise<string> {
  const dir = await tempDir();
  await writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), [
    { name: 'embed', dtype: 'BF16', shape: [2, 2], data: fromFloat32(new Float32Array([1, 2, 3, 4]), 'BF16') },
    { name: 'layers.0.w', dtype: 'F32', shape: [3], data: f32Bytes([5, 6, 7]) },
  ]);
  await writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), [
    { name: 'layers.1.w', dtype: 'F16', shape: [1], data: fromFloat32(new Float32Array([8]), 'F16') },
    { name: 'norm', dtype: 'BF16', shape: [2], data: fromFloat32(new Float32Array([9, 10]), 'BF16') },
  ]);
  await writeIndex(dir, {
    embed: 'model-00001-of-00002.safetensors',
    'layers.0.w': 'model-00001-of-00002.safetensors',
    'layers.1.w': 'model-00002-of-00002.safetensors',
    norm: 'model-00002-of-00002.safetensors',
  });
  return dir;
}

async function writeIndex(dir: string, weightMap: Record<string, string>): Promise<void> {
  await writeFile(path.join(dir, INDEX), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
}

describe('TensorStore reads a model folder', () => {
  test('single file', async () => {
    const dir = await tempDir();
    await writeSafetensors(path.join(dir, 'model.safetensors'), [
      { name: 'a', dtype: 'F32', shape: [2], data: f32Bytes([1, 2]) },
      { name: 'b', dtype: 'F16', shape: [2, 1], data: fromFloat32(new Float32Array([3, 4]), 'F16') },
    ]);
    const store = await TensorStore.open(dir);
    try {
      assert.deepEqual(store.names(), ['a', 'b']);
      assert.equal(store.info('b').file, path.join(dir, 'model.safetensors'));
      assert.deepEqual([...(await store.readFloat32('b'))], [3, 4]);
      assert.deepEqual(store.dtypes(), { F32: 1, F16: 1 });
      assert.equal(store.elementCount(), 4);
    } finally {
      await store.close();
    }
  });

  test('sharded: each tensor from its shard; dtype summary and element count', async () => {
    const dir = await shardedModel();
    const store = await TensorStore.open(dir);
    try {
      assert.deepEqual(store.names(), ['embed', 'layers.0.w', 'layers.1.w', 'norm']);
      assert.ok(store.has('norm') && !store.has('lm_head'));
      assert.equal(store.info('norm').file, path.join(dir, 'model-00002-of-00002.safetensors'));
      assert.deepEqual([...(await store.readFloat32('embed'))], [1, 2, 3, 4]);
      assert.deepEqual([...(await store.readFloat32('layers.0.w'))], [5, 6, 7]);
      assert.deepEqual([...(await store.readFloat32('layers.1.w'))], [8]);
      assert.equal((await store.readRaw('norm')).byteLength, 4);
      assert.deepEqual(store.dtypes(), { BF16: 2, F32: 1, F16: 1 });
      assert.equal(store.elementCount(), 4 + 3 + 1 + 2);
    } finally {
      await store.close();
    }
  });

  test('shard data is opened lazily, on the first read', async () => {
    const dir = await shardedModel();
    const store = await TensorStore.open(dir);
    // Deleting a file does not disturb an already open handle, so this read fails only if the
    // shard had not been opened yet.
    await rm(path.join(dir, 'model-00002-of-00002.safetensors'));
    await rejectsWithFileError(store.readRaw('norm'), path.join(dir, 'model-00002-of-00002.safetensors'), /not found/);
    assert.deepEqual([...(await store.readFloat32('layers.0.w'))], [5, 6, 7]);
    await store.close();
  });

  test('model.safetensors wins over an index, as in transformers', async () => {
    const dir = await shardedModel();
    await writeSafetensors(path.join(dir, 'model.safetensors'), [{ name: 'only', dtype: 'U8', shape: [1], data: new Uint8Array([1]) }]);
    const store = await TensorStore.open(dir);
    assert.deepEqual(store.names(), ['only']);
    await store.close();
  });

  test('unknown tensor name', async () => {
    const dir = await shardedModel();
    const store = await TensorStore.open(dir);
    assert.throws(() => store.info('lm_head'), (e: unknown) => e instanceof FileError && e.file === dir && /no tensor named "lm_head"/.test(e.problem));
    await store.close();
  });
});

describe('TensorStore rejects broken model folders', () => {
  test('model folder missing', async () => {
    const dir = path.join(await tempDir(), 'nope');
    await rejectsWithFileError(TensorStore.open(dir), dir, /model folder not found/);
  });

  test('neither model.safetensors nor an index', async () => {
    const dir = await tempDir();
    await rejectsWithFileError(TensorStore.open(dir), dir, /no model\.safetensors or model\.safetensors\.index\.json/);
  });

  test('index not JSON', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, INDEX), '{ weight_map');
    await rejectsWithFileError(TensorStore.open(dir), path.join(dir, INDEX), /not valid JSON/);
  });

  test('index without weight_map', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, INDEX), JSON.stringify({ metadata: {} }));
    await rejectsWithFileError(TensorStore.open(dir), path.join(dir, INDEX), /no "weight_map" object/);
  });

  test('weight_map entry not a file name', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, INDEX), JSON.stringify({ weight_map: { w: 3 } }));
    await rejectsWithFileError(TensorStore.open(dir), path.join(dir, INDEX), /weight_map entry for tensor "w" is not a file name/);
  });

  test('missing shard', async () => {
    const dir = await shardedModel();
    await rm(path.join(dir, 'model-00002-of-00002.safetensors'));
    await rejectsWithFileError(
      TensorStore.open(dir),
      path.join(dir, INDEX),
      /shard file .*model-00002-of-00002\.safetensors \(for tensor "layers\.1\.w"\) not found/,
    );
  });

  test('absolute shard path', async () => {
    const dir = await tempDir();
    await writeIndex(dir, { w: '/etc/passwd' });
    await rejectsWithFileError(TensorStore.open(dir), path.join(dir, INDEX), /shard "\/etc\/passwd" \(for tensor "w"\) is outside the model folder/);
  });

  test('shard path escaping with ..', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'model');
    await mkdir(dir);
    await writeSafetensors(path.join(root, 'outside.safetensors'), [{ name: 'w', dtype: 'U8', shape: [1], data: new Uint8Array([1]) }]);
    await writeIndex(dir, { w: '../outside.safetensors' });
    await rejectsWithFileError(TensorStore.open(dir), path.join(dir, INDEX), /shard "\.\.\/outside\.safetensors" .* is outside the model folder/);
  });

  test('shard that is a symlink resolving outside the model folder', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'model');
    await mkdir(dir);
    await writeSafetensors(path.join(root, 'outside.safetensors'), [{ name: 'w', dtype: 'U8', shape: [1], data: new Uint8Array([1]) }]);
    await symlink(path.join(root, 'outside.safetensors'), path.join(dir, 'shard.safetensors'));
    await writeIndex(dir, { w: 'shard.safetensors' });
    await rejectsWithFileError(TensorStore.open(dir), path.join(dir, INDEX), /shard "shard\.safetensors" .* is outside the model folder/);
  });

  test('a symlink inside the folder and a subfolder shard are fine', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'shards'));
    await writeSafetensors(path.join(dir, 'shards', 'a.safetensors'), [{ name: 'w', dtype: 'U8', shape: [1], data: new Uint8Array([7]) }]);
    await symlink(path.join(dir, 'shards', 'a.safetensors'), path.join(dir, 'link.safetensors'));
    await writeSafetensors(path.join(dir, 'shards', 'b.safetensors'), [{ name: 'v', dtype: 'U8', shape: [1], data: new Uint8Array([8]) }]);
    await writeIndex(dir, { w: 'link.safetensors', v: 'shards/b.safetensors' });
    const store = await TensorStore.open(dir);
    assert.deepEqual([...(await store.readRaw('w')), ...(await store.readRaw('v'))], [7, 8]);
    await store.close();
  });

  test('tensor listed in the index but absent from its shard', async () => {
    const dir = await shardedModel();
    await writeIndex(dir, { embed: 'model-00001-of-00002.safetensors', norm: 'model-00001-of-00002.safetensors' });
    await rejectsWithFileError(
      TensorStore.open(dir),
      path.join(dir, INDEX),
      /tensor "norm" is listed in shard "model-00001-of-00002\.safetensors" but that file has no such tensor/,
    );
  });

  test('a broken shard is reported with the shard path', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'bad.safetensors'), rawSafetensors('{"w": '));
    await writeIndex(dir, { w: 'bad.safetensors' });
    await rejectsWithFileError(TensorStore.open(dir), path.join(dir, 'bad.safetensors'), /header is not valid JSON/);
  });
});
