import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CheckpointWriter, copyTokenizerFiles } from '../../src/export/checkpoint-writer.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { TensorStore } from '../../src/io/tensor-store.js';
import { f32Tensors, hashFolder, leftovers, tempDir, writeCheckpoint } from './helpers.js';

const INDEX = 'model.safetensors.index.json';

async function assertTensorsRoundTrip(outDir: string, tensors: ReturnType<typeof f32Tensors>): Promise<void> {
  const store = await TensorStore.open(outDir);
  try {
    assert.deepEqual(store.names(), tensors.entries.map((e) => e.name));
    for (const { name } of tensors.entries) assert.deepEqual(await store.readRaw(name), tensors.data.get(name));
  } finally {
    await store.close();
  }
}

describe('CheckpointWriter output', () => {
  test('within the shard limit: one model.safetensors with format "pt" metadata, no index', async () => {
    const outDir = path.join(await tempDir(), 'out');
    const tensors = f32Tensors([3, 5, 7]);
    await writeCheckpoint(outDir, tensors, { maxShardBytes: 1000, metadata: { pruned_by: 'amp-prune' } });
    assert.deepEqual((await readdir(outDir)).sort(), ['config.json', 'model.safetensors']);
    const file = await SafetensorsFile.open(path.join(outDir, 'model.safetensors'));
    assert.deepEqual(file.metadata, { format: 'pt', pruned_by: 'amp-prune' });
    await file.close();
    await assertTensorsRoundTrip(outDir, tensors);
    assert.equal(await readFile(path.join(outDir, 'config.json'), 'utf8'), '{\n  "model_type": "test"\n}\n');
  });

  test('over the limit: shards split in write order plus an index TensorStore reads', async () => {
    const parent = await tempDir();
    const outDir = path.join(parent, 'out');
    const tensors = f32Tensors([4, 4, 4, 4, 4]); // 16 bytes each
    await writeCheckpoint(outDir, tensors, { maxShardBytes: 40 });
    assert.deepEqual((await readdir(outDir)).sort(), [
      'config.json',
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      INDEX,
    ]);
    const index: unknown = JSON.parse(await readFile(path.join(outDir, INDEX), 'utf8'));
    assert.deepEqual(index, {
      metadata: { total_parameters: 20, total_size: 80 },
      weight_map: {
        t0: 'model-00001-of-00003.safetensors',
        t1: 'model-00001-of-00003.safetensors',
        t2: 'model-00002-of-00003.safetensors',
        t3: 'model-00002-of-00003.safetensors',
        t4: 'model-00003-of-00003.safetensors',
      },
    });
    await assertTensorsRoundTrip(outDir, tensors);
    assert.deepEqual(await leftovers(parent), []);
  });

  test('a checkpoint without tensors still gets an empty model.safetensors', async () => {
    const outDir = path.join(await tempDir(), 'out');
    await writeCheckpoint(outDir, f32Tensors([]));
    const store = await TensorStore.open(outDir);
    assert.deepEqual(store.names(), []);
    await store.close();
  });

  test('an empty existing output folder is used without force', async () => {
    const outDir = path.join(await tempDir(), 'out');
    await mkdir(outDir);
    await writeCheckpoint(outDir, f32Tensors([2]));
    assert.deepEqual((await readdir(outDir)).sort(), ['config.json', 'model.safetensors']);
  });

  test('deterministic: two runs give byte-identical folders (sharded, with side files)', async () => {
    const parent = await tempDir();
    const run = async (name: string): Promise<Record<string, string>> => {
      const outDir = path.join(parent, name);
      const tensors = f32Tensors([4, 9, 2, 4]);
      const writer = await CheckpointWriter.create(outDir, { tensors: tensors.entries, maxShardBytes: 40, metadata: { b: '2', a: '1' } });
      for (const { name: tensor } of tensors.entries) await writer.write(tensor, tensors.data.get(tensor) ?? new Uint8Array());
      await writer.writeJson('amp_prune.json', { ratio: 0.2, layers: [{ heads: [0, 2] }] });
      await writer.commit();
      return hashFolder(outDir);
    };
    const first = await run('a');
    assert.equal(Object.keys(first).length, 5);
    assert.deepEqual(await run('b'), first);
  });

  test('exposes the weight file names it will write', async () => {
    const outDir = path.join(await tempDir(), 'out');
    const writer = await CheckpointWriter.create(outDir, { tensors: f32Tensors([4, 4]).entries, maxShardBytes: 16 });
    assert.deepEqual(writer.weightFiles, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    await writer.abort();
  });
});

describe('copyTokenizerFiles', () => {
  test('copies whichever tokenizer files exist (following symlinks, as in the HF cache) and nothing else', async () => {
    const root = await tempDir();
    const inputDir = path.join(root, 'model');
    await mkdir(inputDir);
    await writeFile(path.join(inputDir, 'tokenizer.json'), '{"model": {}}');
    await writeFile(path.join(inputDir, 'merges.txt'), 'a b\n');
    await writeFile(path.join(inputDir, 'blob-chat'), '{{ messages }}');
    await symlink(path.join(inputDir, 'blob-chat'), path.join(inputDir, 'chat_template.jinja'));
    await writeFile(path.join(inputDir, 'config.json'), '{}');
    await mkdir(path.join(inputDir, 'vocab.json')); // a folder of that name is not a tokenizer file

    const outDir = path.join(root, 'out');
    const writer = await CheckpointWriter.create(outDir, { tensors: [], inputDir });
    assert.deepEqual(await copyTokenizerFiles(inputDir, writer), ['tokenizer.json', 'merges.txt', 'chat_template.jinja']);
    await writer.commit();
    assert.deepEqual((await readdir(outDir)).sort(), ['chat_template.jinja', 'merges.txt', 'model.safetensors', 'tokenizer.json']);
    assert.equal(await readFile(path.join(outDir, 'chat_template.jinja'), 'utf8'), '{{ messages }}');
  });
});

describe('CheckpointWriter misuse is a bug: it throws and leaves nothing', () => {
  async function expectAbortedAfter(
    misuse: (writer: CheckpointWriter, tensors: ReturnType<typeof f32Tensors>) => Promise<unknown>,
    message: RegExp,
  ): Promise<void> {
    const parent = await tempDir();
    const outDir = path.join(parent, 'out');
    const tensors = f32Tensors([2, 2]);
    const writer = await CheckpointWriter.create(outDir, { tensors: tensors.entries });
    await assert.rejects(misuse(writer, tensors), message);
    assert.deepEqual(await readdir(parent), []);
    await assert.rejects(writer.write('t0', tensors.data.get('t0') ?? new Uint8Array()), /after abort\(\)/);
  }

  test('writing out of order', () => expectAbortedAfter((w, t) => w.write('t1', t.data.get('t1') ?? new Uint8Array()), /out of order, expected "t0"/));
  test('writing the wrong number of bytes', () => expectAbortedAfter((w) => w.write('t0', new Uint8Array(4)), /got 4 bytes, its F32 shape \[2\] needs 8/));
  test('committing before every tensor is written', () => expectAbortedAfter((w) => w.commit(), /next expected: "t0"/));
  test('a side file named like a weight file', () => expectAbortedAfter((w) => w.writeJson('model-00001-of-00002.safetensors', {}), /weight file name/));
  test('a side file path that is not a plain name', () => expectAbortedAfter((w) => w.writeJson('../config.json', {}), /not a plain file name/));
  test('the same side file twice', () =>
    expectAbortedAfter(async (w) => {
      await w.writeJson('config.json', {});
      await w.writeJson('config.json', {});
    }, /"config.json" is written twice/));
  test('overlapping calls', () =>
    expectAbortedAfter(async (w, t) => {
      await Promise.all([w.write('t0', t.data.get('t0') ?? new Uint8Array()), w.write('t1', t.data.get('t1') ?? new Uint8Array())]);
    }, /while another call is in progress/));

  test('declaring a tensor twice is refused before anything is created', async () => {
    const parent = await tempDir();
    const entries = [...f32Tensors([1]).entries, ...f32Tensors([1]).entries];
    await assert.rejects(CheckpointWriter.create(path.join(parent, 'out'), { tensors: entries }), /tensor "t0" is declared twice/);
    assert.deepEqual(await readdir(parent), []);
  });

  test('a missing source file for copyFile is reported against that file', async () => {
    const parent = await tempDir();
    const writer = await CheckpointWriter.create(path.join(parent, 'out'), { tensors: [] });
    const missing = path.join(parent, 'nope.json');
    await assert.rejects(writer.copyFile(missing, 'tokenizer.json'), { message: `${missing}: not found` });
    assert.deepEqual(await readdir(parent), []);
  });

  test('commit twice, abort after commit', async () => {
    const outDir = path.join(await tempDir(), 'out');
    const writer = await CheckpointWriter.create(outDir, { tensors: [] });
    await writer.commit();
    await assert.rejects(writer.commit(), /commit\(\) after commit\(\)/);
    await writer.abort(); // no-op: the output stays
    assert.deepEqual(await readdir(outDir), ['model.safetensors']);
  });
});
