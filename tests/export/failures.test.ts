import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { FileError } from '../../src/errors.js';
import { CheckpointWriter, copyTokenizerFiles } from '../../src/export/checkpoint-writer.js';
import { FAIL_WRITE_AFTER_BYTES_ENV } from '../../src/export/write-failures.js';
import { f32Tensors, hashFolder, leftovers, tempDir, writeCheckpoint } from './helpers.js';

/** An input model folder with tokenizer files, and an empty folder to write into. */
async function workspace(): Promise<{ root: string; model: string; outDir: string }> {
  const root = await tempDir();
  const model = path.join(root, 'model');
  await mkdir(model);
  await writeFile(path.join(model, 'config.json'), '{"model_type": "llama"}');
  await writeFile(path.join(model, 'tokenizer.json'), '{"version": "1.0"}'.padEnd(300, ' '));
  await writeFile(path.join(model, 'tokenizer_config.json'), '{}');
  return { root, model, outDir: path.join(root, 'out') };
}

/** What the pruning command does: tensors, config, plan, tokenizer files, commit; abort on failure. */
async function prune(model: string, outDir: string, options: { force?: boolean; maxShardBytes?: number } = {}): Promise<void> {
  const tensors = f32Tensors([16, 16, 16, 16]); // 64 bytes each
  const writer = await CheckpointWriter.create(outDir, { tensors: tensors.entries, inputDir: model, ...options });
  try {
    for (const { name } of tensors.entries) await writer.write(name, tensors.data.get(name) ?? new Uint8Array());
    await writer.writeJson('config.json', { model_type: 'llama', intermediate_size: 16 });
    await writer.writeJson('amp_prune.json', { method: 'amp', ratio: 0.5 });
    await copyTokenizerFiles(model, writer);
    await writer.commit();
  } finally {
    await writer.abort();
  }
}

async function assertDiskFull(promise: Promise<void>, outDir: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FileError, `expected a FileError, got ${String(error)}`);
    assert.equal(error.message, `${outDir}: write failed: no space left on device (nothing was written)`);
    return true;
  });
}

describe(`disk full (simulated with ${FAIL_WRITE_AFTER_BYTES_ENV})`, () => {
  afterEach(() => {
    delete process.env[FAIL_WRITE_AFTER_BYTES_ENV];
  });

  // Bytes written in order: 4 tensors of 64 (256), config.json 55 (311), amp_prune.json 38 (349),
  // tokenizer.json 300 (649), tokenizer_config.json 2 (651), then the index if sharded. So the
  // budgets below fail at tensor 1, tensor 2, tensor 4 (the second shard when sharded),
  // config.json, amp_prune.json and the tokenizer copy.
  for (const failAfter of [0, 100, 200, 260, 320, 400]) {
    for (const maxShardBytes of [undefined, 128]) {
      test(`after ${failAfter} bytes, ${maxShardBytes ? 'sharded' : 'single file'}: one line, no output, no temp folder, input untouched`, async () => {
        const { root, model, outDir } = await workspace();
        const inputBefore = await hashFolder(model);
        process.env[FAIL_WRITE_AFTER_BYTES_ENV] = String(failAfter);
        await assertDiskFull(prune(model, outDir, { maxShardBytes }), outDir);
        assert.deepEqual((await readdir(root)).sort(), ['model']);
        assert.deepEqual(await hashFolder(model), inputBefore);
      });
    }
  }

  test('while writing the shard index at commit', async () => {
    const { root, model, outDir } = await workspace();
    // Everything but the index fits (see the byte counts above).
    process.env[FAIL_WRITE_AFTER_BYTES_ENV] = '700';
    await assertDiskFull(prune(model, outDir, { maxShardBytes: 128 }), outDir);
    assert.deepEqual(await readdir(root), ['model']);
  });

  test('with force, the previous output is kept as it was', async () => {
    const { root, model, outDir } = await workspace();
    await prune(model, outDir);
    const previous = await hashFolder(outDir);
    process.env[FAIL_WRITE_AFTER_BYTES_ENV] = '150';
    await assertDiskFull(prune(model, outDir, { force: true, maxShardBytes: 64 }), outDir);
    assert.deepEqual(await hashFolder(outDir), previous);
    assert.deepEqual(await leftovers(root), []);
  });

  test('a large enough budget lets the whole write through', async () => {
    const { outDir, model } = await workspace();
    process.env[FAIL_WRITE_AFTER_BYTES_ENV] = '100000';
    await prune(model, outDir, { maxShardBytes: 128 });
    assert.ok((await readdir(outDir)).includes('model.safetensors.index.json'));
  });

  test('a budget that is not a byte count is a bug in the test, said plainly', async () => {
    const { outDir } = await workspace();
    process.env[FAIL_WRITE_AFTER_BYTES_ENV] = '1kB';
    await assert.rejects(CheckpointWriter.create(outDir, { tensors: [] }), /AMP_PRUNE_FAIL_WRITE_AFTER_BYTES=1kB is not a byte count/);
  });
});

describe('force', () => {
  test('replaces an existing output completely (no stale shards), leaving no temp folders', async () => {
    const { root, model, outDir } = await workspace();
    await prune(model, outDir, { maxShardBytes: 64 });
    await writeFile(path.join(outDir, 'stale.txt'), 'from an older run');
    await prune(model, outDir, { force: true });
    assert.deepEqual((await readdir(outDir)).sort(), ['amp_prune.json', 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    assert.deepEqual((await readdir(root)).sort(), ['model', 'out']);
  });

  test('the replaced output is what a fresh run writes', async () => {
    const { root, model, outDir } = await workspace();
    await prune(model, outDir);
    const fresh = await hashFolder(outDir);
    await writeCheckpoint(path.join(root, 'other'), f32Tensors([1]));
    await prune(model, path.join(root, 'other'), { force: true });
    assert.deepEqual(await hashFolder(path.join(root, 'other')), fresh);
  });
});

describe('abort', () => {
  test('removes everything and may be called twice', async () => {
    const { root, model, outDir } = await workspace();
    const tensors = f32Tensors([4, 4]);
    const writer = await CheckpointWriter.create(outDir, { tensors: tensors.entries, inputDir: model, maxShardBytes: 16 });
    await writer.write('t0', tensors.data.get('t0') ?? new Uint8Array());
    await writer.writeJson('config.json', {});
    assert.equal((await leftovers(root)).length, 1);
    await writer.abort();
    await writer.abort();
    assert.deepEqual(await readdir(root), ['model']);
    assert.equal(await readFile(path.join(model, 'config.json'), 'utf8'), '{"model_type": "llama"}');
  });
});
