import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readModelConfig } from '../../src/io/checkpoint.js';
import { rejectsWithFileError, tempDir } from './helpers.js';

describe('readModelConfig', () => {
  test('reads config.json', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', num_attention_heads: 4 }));
    assert.deepEqual(await readModelConfig(dir), { model_type: 'llama', num_attention_heads: 4 });
  });

  test('model folder missing', async () => {
    const dir = path.join(await tempDir(), 'absent');
    await rejectsWithFileError(readModelConfig(dir), dir, /model folder not found/);
  });

  test('model folder is a file', async () => {
    const file = path.join(await tempDir(), 'model.bin');
    await writeFile(file, '');
    await rejectsWithFileError(readModelConfig(file), file, /not a directory/);
  });

  test('config.json missing', async () => {
    const dir = await tempDir();
    await rejectsWithFileError(readModelConfig(dir), path.join(dir, 'config.json'), /^not found — is this a Hugging Face model folder\?$/);
  });

  test('config.json not JSON', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), '{"model_type": llama}');
    await rejectsWithFileError(readModelConfig(dir), path.join(dir, 'config.json'), /not valid JSON/);
  });

  test('config.json not an object', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), '["llama"]');
    await rejectsWithFileError(readModelConfig(dir), path.join(dir, 'config.json'), /not a JSON object/);
  });
});
