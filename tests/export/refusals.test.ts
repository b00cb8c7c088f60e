import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FileError } from '../../src/errors.js';
import { CheckpointWriter } from '../../src/export/checkpoint-writer.js';
import { f32Tensors, hashFolder, tempDir, writeCheckpoint } from './helpers.js';

const RUNNING_AS_ROOT = process.getuid?.() === 0;

/** A folder holding an input model folder (with a file) and nothing else. */
async function workspace(): Promise<{ root: string; model: string }> {
  const root = await tempDir();
  const model = path.join(root, 'model');
  await mkdir(model);
  await writeFile(path.join(model, 'config.json'), '{"model_type": "llama"}');
  return { root, model };
}

/** Asserts a one-line FileError naming `outDir` whose message matches `problem`. */
async function assertRefused(outDir: string, options: { inputDir?: string; force?: boolean }, problem: RegExp): Promise<void> {
  await assert.rejects(CheckpointWriter.create(outDir, { tensors: f32Tensors([2]).entries, ...options }), (error: unknown) => {
    assert.ok(error instanceof FileError, `expected a FileError, got ${String(error)}`);
    assert.equal(error.file, outDir);
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.problem, problem);
    return true;
  });
}

describe('CheckpointWriter refuses an unsafe --out, touching nothing', () => {
  test('out is the input model folder (also through a symlink or trailing ..)', async () => {
    const { root, model } = await workspace();
    const before = await hashFolder(root);
    await assertRefused(model, { inputDir: model, force: true }, /is the input model folder/);
    await symlink(model, path.join(root, 'link'));
    await assertRefused(path.join(root, 'link'), { inputDir: model, force: true }, /is the input model folder/);
    await assertRefused(`${model}/sub/..`, { inputDir: model, force: true }, /is the input model folder/);
    assert.deepEqual(await hashFolder(root), before);
    assert.deepEqual((await readdir(root)).sort(), ['link', 'model']);
  });

  test('out is inside the input model folder', async () => {
    const { root, model } = await workspace();
    await assertRefused(path.join(model, 'pruned'), { inputDir: model }, new RegExp(`is inside the input model folder ${model}`));
    await assertRefused(path.join(model, 'a', 'b'), { inputDir: model }, /is inside the input model folder/);
    assert.deepEqual(await readdir(model), ['config.json']);
    assert.deepEqual(await readdir(root), ['model']);
  });

  test('out contains the input model folder', async () => {
    const { root, model } = await workspace();
    await assertRefused(root, { inputDir: model, force: true }, new RegExp(`contains the input model folder ${model}`));
    assert.deepEqual(await readdir(root), ['model']);
  });

  test('a sibling whose name starts like the input is fine', async () => {
    const { root, model } = await workspace();
    await writeCheckpoint(`${model}-pruned`, f32Tensors([2]), { inputDir: model });
    assert.deepEqual((await readdir(root)).sort(), ['model', 'model-pruned']);
  });

  test('out exists and is not empty, without force', async () => {
    const { root } = await workspace();
    const outDir = path.join(root, 'out');
    await mkdir(outDir);
    await writeFile(path.join(outDir, 'keep.txt'), 'mine');
    await assertRefused(outDir, {}, /^exists and is not empty \(use --force to replace it\)$/);
    assert.deepEqual(await readdir(outDir), ['keep.txt']);
    assert.deepEqual((await readdir(root)).sort(), ['model', 'out']);
  });

  test('out exists and is a file, even with force', async () => {
    const { root } = await workspace();
    const outDir = path.join(root, 'out');
    await writeFile(outDir, 'not a folder');
    await assertRefused(outDir, { force: true }, /exists and is not a folder/);
  });

  test("out's parent does not exist", async () => {
    const { root } = await workspace();
    const outDir = path.join(root, 'missing', 'out');
    await assertRefused(outDir, {}, new RegExp(`parent folder ${path.join(root, 'missing')} does not exist`));
    assert.deepEqual(await readdir(root), ['model']);
  });

  test("out's parent is a file, so no folder can be created in it", async () => {
    const { root } = await workspace();
    await writeFile(path.join(root, 'file'), '');
    await assertRefused(path.join(root, 'file', 'out'), {}, /parent .*file is not a folder/);
  });

  test("out's parent is not writable (permission bits; root ignores them)", { skip: RUNNING_AS_ROOT && 'running as root, which ignores permission bits; the parent-is-a-file test covers the failing mkdir' }, async () => {
    const { root } = await workspace();
    const parent = path.join(root, 'locked');
    await mkdir(parent);
    await chmod(parent, 0o555);
    try {
      await assertRefused(path.join(parent, 'out'), {}, /cannot create a folder in .*locked: permission denied/);
    } finally {
      await chmod(parent, 0o755);
    }
  });
});
